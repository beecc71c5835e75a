"""A data store runs in another service's network namespace (``network_mode: service:vpn``):
it has that container's outbound access and cannot be isolated from it.
"""

ID = "data-in-shared-namespace"
TITLE = "A data store shares another container's network namespace"
SEVERITY = "warning"
FIX = "no"
KEY = "network_mode"  # where a finding points: this key of the service (else the service itself)
