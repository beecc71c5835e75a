"""Routing labels (``traefik.*``, ``caddy*``) or ``VIRTUAL_HOST`` show that a discovery proxy
routes to the service, but no such proxy (Traefik, caddy-docker-proxy, nginx-proxy) is in the
files hardened: it comes from another compose file merged when the stack runs
(``docker compose -f compose.yml -f traefik.yml``) or from another project. Nothing shows which
network it meets the service on, so the service keeps the default network, where a proxy from
another file of the project does, and gains the networks its dependencies need. Harden the
files together (``-f compose.yml -f traefik.yml``), or name the proxy's network with the label
``traefik.docker.network`` (it is then the one kept).
"""

ID = "proxy-outside-project"
TITLE = "Routed by a proxy that is not in the files hardened"
SEVERITY = "note"
FIX = "no"
