"""``network_mode: host`` was removed, but the ports the service listens on could not be
determined from the file or the image table: add them under ``ports:`` so they stay reachable.
"""

ID = "host-ports-unknown"
TITLE = "Host networking removed, but its listening ports are unknown"
SEVERITY = "warning"
FIX = "no"
KEY = "network_mode"  # where a finding points: this key of the service (else the service itself)
