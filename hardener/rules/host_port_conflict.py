"""The service leaves the host's network and one of its ports is already used on the host by
another service, so it is not published twice: choose another host port for it.
"""

ID = "host-port-conflict"
TITLE = "A port it listened on is already published by another service"
SEVERITY = "warning"
FIX = "no"
KEY = "ports"  # where a finding points: this key of the service (else the service itself)
