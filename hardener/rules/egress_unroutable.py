"""The egress gateway cannot route the service: its way out is a network the tool does not change
(externally managed, a fixed name other projects attach to, pinned addresses), it shares another
container's network namespace, it runs with ``network_mode: host``, or its networks cannot be
edited. It keeps its direct way out.
"""

ID = "egress-unroutable"
TITLE = "A service's way out cannot be moved behind the gateway"
SEVERITY = "warning"
FIX = "no"
