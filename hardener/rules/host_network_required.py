"""The image is known to need the host's network (home-assistant, pi-hole, node-exporter,
fail2ban, LAN scanners, VPN and tunnel agents, firewall managers): host networking is kept and
the tool asks for a documented reason (see ``host-network``).
"""

ID = "host-network-required"
TITLE = "The image needs the host's network: document why"
SEVERITY = "warning"
FIX = "no"
KEY = "network_mode"  # where a finding points: this key of the service (else the service itself)
