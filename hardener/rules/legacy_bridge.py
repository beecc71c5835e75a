"""``network_mode: bridge`` selects Docker's legacy default bridge (``docker0``): no name
resolution between containers, and every container on the host that uses it can reach the
others. The tool replaces it with the project's own tier networks. When the key cannot be edited
(it comes from a file the tool does not write) it is reported.
"""

ID = "legacy-bridge"
TITLE = "network_mode: bridge puts the service on Docker's legacy default bridge"
SEVERITY = "warning"
FIX = "sometimes"
KEY = "network_mode"  # where a finding points: this key of the service (else the service itself)
