"""The egress gateway cannot route the service: its way out is a network the tool does not change
(externally managed, a fixed name other projects attach to, pinned addresses), it shares another
container's network namespace, it runs with ``network_mode: host``, its networks cannot be
edited, or its proxy variables cannot be written (its environment comes from an anchor that
services the gateway does not route merge too). It keeps its direct way out; its networks are
hardened all the same.

A service that an earlier run routed (its proxy variables name the gateway) and that was moved
since to networks the gateway is not on is checked as a new service would be: the gateway joins
one of its networks when it can be routed, and it is reported with this rule when it cannot.
"""

ID = "egress-unroutable"
TITLE = "A service's way out cannot be moved behind the gateway"
SEVERITY = "warning"
FIX = "no"
