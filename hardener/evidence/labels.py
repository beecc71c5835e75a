"""Proxies that route by discovery: Traefik and caddy-docker-proxy read routes from container
labels, nginx-proxy from ``VIRTUAL_HOST``. Every discovery proxy of the stack reaches each service
that carries such routing. A service that carries it in a project with no such proxy is routed by
one from elsewhere -- another compose file merged at run time (``-f compose.yml -f traefik.yml``)
or another project: that is recorded, and the planner keeps the network such a proxy can meet it
on."""

from __future__ import annotations

from hardener.compose import Project, as_mapping
from hardener.evidence.model import Analysis

PROXY_LABEL_PREFIXES = ("traefik.", "caddy")


def routed_by(data: dict) -> str | None:
    """Why discovery proxies route to this service, or None."""
    labels = as_mapping(data.get("labels"))
    envs = as_mapping(data.get("environment"))
    why = None
    if any(k.startswith(PROXY_LABEL_PREFIXES) or k.startswith("virtual.") for k in labels):
        enabled = str(labels.get("traefik.enable", "true")).lower()
        if enabled != "false" or any(k.startswith("caddy") for k in labels):
            why = "routed by labels"
    if "VIRTUAL_HOST" in envs or "LETSENCRYPT_HOST" in envs:
        why = "routed by VIRTUAL_HOST"
    return why


def collect(project: Project, a: Analysis) -> None:
    proxies = [n for n, t in a.tiers.items() if "proxy-discovery" in t.flags]
    for name, svc in project.services.items():
        why = routed_by(svc.data)
        if not why:
            continue
        if not proxies:
            a.outside_proxy[name] = why
        for p in proxies:
            a.add(p, name, f"{why} of {name}", "proxy")
