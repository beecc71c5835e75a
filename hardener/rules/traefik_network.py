"""Traefik picks one of a container's networks at random when it is on several and nothing
names the one to use. Add ``traefik.docker.network=<project>_<network>`` to the service, or
``--providers.docker.network`` to Traefik.
"""

ID = "traefik-network"
TITLE = "A Traefik-routed service sits on several networks"
SEVERITY = "warning"
FIX = "no"
KEY = "networks"  # where a finding points: this key of the service (else the service itself)
