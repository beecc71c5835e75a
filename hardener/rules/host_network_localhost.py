"""A service on the host's network reaches another program through ``localhost`` /
``127.0.0.1`` (an upstream URL in its command, environment or configuration, such as
``cloudflared --url http://localhost:8080``). Off the host's network that address would be the
container itself, so host networking is kept. Point it at a service name, or document the reason.
"""

ID = "host-network-localhost"
TITLE = "A host-mode service reaches something on the host through localhost"
SEVERITY = "warning"
FIX = "no"
KEY = "network_mode"  # where a finding points: this key of the service (else the service itself)
