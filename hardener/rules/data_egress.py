"""A database, cache, queue or search engine on a network with outbound access can be used to
exfiltrate data or fetch a second stage. Networks that carry only data stores and their clients
are marked ``internal: true``: containers on them cannot leave the host (they can still reach
services listening on the Docker host itself). Reported instead of fixed when a member needs a
way out and cannot be given another one, when the network is externally managed, has a fixed
name other projects attach to or pinned addresses, or when the data store has evidence of
outbound traffic (object-storage endpoints, WAL archiving, plugin installs, replication to hosts
outside the stack): then it keeps a way out of its own.
"""

ID = "data-egress"
TITLE = "A data store can reach the outside world"
SEVERITY = "warning"
FIX = "sometimes"
KEY = "networks"  # where a finding points: this key of the service (else the service itself)
