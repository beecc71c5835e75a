"""A data store publishes a port on the host (``5432:5432``). Docker publishes no ports of
containers whose only networks are internal (moby/moby#36174), so it keeps a network with
outbound access. Bind it to ``127.0.0.1`` or drop the ports if only other services use it.
"""

ID = "data-published-port"
TITLE = "A data store publishes ports"
SEVERITY = "warning"
FIX = "no"
KEY = "ports"  # where a finding points: this key of the service (else the service itself)
