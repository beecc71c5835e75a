"""The egress gateway does not route a service that publishes ports: Docker publishes no ports of a
container whose networks are all internal (moby/moby#36174), so it keeps a network with a direct
way out (a network of its own when the network it shared with routed services became internal).
Put it behind a reverse proxy, or accept the finding with a reason.
"""

ID = "egress-bypass-edge"
TITLE = "A service that publishes ports keeps a direct way out"
SEVERITY = "warning"
FIX = "no"
