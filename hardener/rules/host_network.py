"""``network_mode: host`` shares the host's network stack: the container listens on every host
interface and reaches everything the host reaches. Without a documented reason the tool removes
it, puts the service on its tier networks and publishes the ports it listened on.

Document a real need with a comment on or above the line::

    network_mode: host  # compose-harden: allow host-network -- DHCP server for the LAN

or ``x-compose-harden: {allow: [host-network], reason: ...}`` on the service. When the key
cannot be edited the finding is reported instead of fixed.
"""

ID = "host-network"
TITLE = "network_mode: host with no documented reason"
SEVERITY = "error"
FIX = "sometimes"
KEY = "network_mode"  # where a finding points: this key of the service (else the service itself)
