"""``# compose-harden: allow host-network`` (or ``allow: [host-network]``) was given without a
reason. A marker without a reason does not justify host networking: write
``-- <reason>`` after it.
"""

ID = "host-network-reason"
TITLE = "A host-network allow marker without a reason"
SEVERITY = "warning"
FIX = "no"
KEY = "network_mode"  # where a finding points: this key of the service (else the service itself)
