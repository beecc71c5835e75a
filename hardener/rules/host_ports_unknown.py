"""``network_mode: host`` is kept because the ports the service listens on could not be determined
(no ``expose``, listen flag, ``PORT``-style variable or image default): removing host networking
would make it unreachable. List its ports under ``expose:`` and run again to have them published
instead, or document why it needs the host's network.
"""

ID = "host-ports-unknown"
TITLE = "Host networking kept: the ports it listens on are unknown"
SEVERITY = "warning"
FIX = "no"
KEY = "network_mode"  # where a finding points: this key of the service (else the service itself)
