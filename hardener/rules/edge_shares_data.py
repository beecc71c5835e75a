"""A public entry point (reverse proxy, web server) sits on a network with a data store and nothing
says it reaches it. The tool leaves this when the network is not its to change (externally
managed, fixed addresses, a service whose network cannot be resolved) or when the evidence does
not allow a split.
"""

ID = "edge-shares-data"
TITLE = "An edge service shares a network with a data store it does not use"
SEVERITY = "warning"
FIX = "no"
KEY = "networks"  # where a finding points: this key of the service (else the service itself)
