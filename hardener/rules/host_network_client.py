"""A service on the host's network is a client that listens on nothing (a tunnel run with a token,
a DDNS updater): it publishes nothing, and what it reaches -- configured elsewhere, such as a
tunnel's routes in a dashboard -- may be on the host itself. Host networking is kept; document the
reason, or remove it by hand if its targets are services of the stack.
"""

ID = "host-network-client"
TITLE = "A client on the host's network: its targets may be on the host"
SEVERITY = "note"
FIX = "no"
KEY = "network_mode"  # where a finding points: this key of the service (else the service itself)
