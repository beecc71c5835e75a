"""What is known of each reverse proxy's routes.

An edge service's routes are *known* when they were read: a configuration file in its dialect
(mounted, a Compose ``configs:`` entry, inline content, or in its build context), or routing
labels / ``VIRTUAL_HOST`` for a proxy that discovers its routes (Traefik with the Docker provider,
caddy-docker-proxy, nginx-proxy) -- unless it also reads route files the project does not
provide. Otherwise they are *unknown*: the configuration is baked into its image, configured in
a dashboard (a tunnel run with a token, nginx-proxy-manager), or read from somewhere the project
does not show. A proxy whose routing is unknown keeps its reach to every service it could route
to (:mod:`hardener.evidence.needs`).
"""

from __future__ import annotations

import re

from hardener.classify import service_options
from hardener.compose import Project, as_mapping, command_texts
from hardener.evidence.model import Analysis, Routing
from hardener.evidence.proxies import DIALECTS, traefik
from hardener.scan import ConfigText

# proxy-discovery images whose routes come only from labels or environment
_DISCOVERY_ONLY = frozenset({
    "caddy-docker-proxy", "caddy-gen", "nginx-proxy", "docker-gen", "acme-companion", "letsencrypt-nginx-proxy-companion",
})
_TEMPLATE = re.compile(r"\{\{|\{%")  # Jinja / Go templates filled in at start: the routes are not what is written
_KNOWN_TRAEFIK_PROVIDERS = frozenset({"docker", "swarm", "file"})


def _traefik(project: Project, name: str, read: list[tuple[ConfigText, str | None]]) -> Routing:
    data = project.services[name].data
    statics = [t for _, t in command_texts(data)]
    statics += [f"{k}={v}" for k, v in as_mapping(data.get("environment")).items() if v is not None]
    statics += [ct.text for ct, dialect in read if dialect == "traefik"]
    providers = traefik.providers(statics)
    other = sorted(set(providers) - _KNOWN_TRAEFIK_PROVIDERS)
    if other:
        return Routing(False, f"it reads routes from the {', '.join(other)} provider, which the project does not show")
    targets = [ct.target or "" for ct, _ in read]
    for path in providers.get("file", []):
        if not any(t == path or t.startswith(path.rstrip("/") + "/") or path.startswith(t.rstrip("/") + "/") for t in targets if t):
            return Routing(False, f"its file provider reads {path}, which is not mounted from the project")
    if "file" in providers:
        return Routing(True, "routes read from Docker labels and its file provider")
    return Routing(True, "routes read from Docker labels")


def collect(project: Project, a: Analysis, read: dict[str, list[tuple[ConfigText, str | None]]]) -> None:
    for name, t in a.tiers.items():
        if t.tier != "edge":
            continue
        if service_options(project.services[name].data).get("talks-to") is not None:
            a.routing[name] = Routing(True, "x-compose-harden talks-to")
            continue
        if t.guessed:
            a.routing[name] = Routing(False, f"its tier is a guess ({t.evidence})")
            continue
        texts = read.get(name, [])
        key = t.info.key if t.info else ""
        family = t.info.family if t.info else None
        if key in _DISCOVERY_ONLY or key.endswith(tuple("/" + k for k in _DISCOVERY_ONLY)):
            a.routing[name] = Routing(True, "routes read from labels / VIRTUAL_HOST")
        elif family == "traefik":
            a.routing[name] = _traefik(project, name, texts)
        elif family == "cloudflared" and any("--url" in t for _, t in command_texts(project.services[name].data)):
            a.routing[name] = Routing(True, "its origin is the --url of its command")
        elif family in DIALECTS:
            mine = [ct.where for ct, dialect in texts if dialect == family]
            rendered = [ct.where for ct, _ in texts if _TEMPLATE.search(ct.text)]
            if rendered:
                a.routing[name] = Routing(False, f"its configuration is rendered from templates at start ({rendered[0]})")
            elif mine:
                a.routing[name] = Routing(True, f"routes read from {', '.join(sorted(mine)[:3])}")
            else:
                a.routing[name] = Routing(False, f"no {family} configuration in the project (it is in the image or elsewhere)")
        else:
            a.routing[name] = Routing(False, f"{t.image or name} routes by configuration the project does not show")
