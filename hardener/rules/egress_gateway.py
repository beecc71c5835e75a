"""With the egress gateway on (``--egress-gateway``, ``egress: gateway`` in the configuration, or
``x-compose-harden: {egress: gateway}`` at the top of the file), the service's way-out networks
become internal and it reaches the outside through one forward proxy the tool adds (Squid,
``ubuntu/squid``): ``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY`` (in both cases) point it there.
The gateway logs every request to ``/var/log/squid/access.log``, which the ``ubuntu/squid`` image
prints on its stdout (``docker compose logs egress-gateway`` is the audit trail), denies cloud
metadata and link-local addresses, and in enforce mode allows only the hosts the stack names plus
``egress-allow``.
"""

ID = "egress-gateway"
TITLE = "Outbound traffic goes through the egress gateway"
SEVERITY = "note"
FIX = "yes"
