"""Every service of the stack shares one network -- the implicit ``default`` network, a renamed
default (``networks: {default: {name: shop}}``) or one declared network that carries everything --
so a compromised public entry point can reach every database directly.

The tool moves data stores to an internal data network that only their clients join, and puts
edge and application services on their tier networks where the evidence allows it. When a flat
network cannot be split (fixed addresses, a network other projects attach to, a service whose
networks cannot be edited) it is reported with the reason instead.
"""

ID = "flat-network"
TITLE = "A service sits on one flat network with every other service"
SEVERITY = "warning"
FIX = "sometimes"
KEY = "networks"  # where a finding points: this key of the service (else the service itself)
