"""Proxies that route by discovery: Traefik and caddy-docker-proxy read routes from container
labels, nginx-proxy from ``VIRTUAL_HOST``. Every discovery proxy of the stack reaches each service
that carries such routing. A service whose routing no proxy of the project reads (Traefik labels
and no Traefik, ``VIRTUAL_HOST`` and no nginx-proxy...) is routed by one from elsewhere -- another
compose file merged at run time (``-f compose.yml -f traefik.yml``) or another project: that is
recorded, and the planner keeps the network such a proxy can meet it on."""

from __future__ import annotations

from hardener.compose import Project, as_mapping
from hardener.evidence.model import Analysis

# which proxies read which routing: a proxy of another kind does not route by it
_KINDS = {
    "traefik": lambda t: t.info is not None and t.info.family == "traefik",
    "caddy": lambda t: t.info is not None and t.info.key == "caddy-docker-proxy",
    "caddy-gen": lambda t: t.info is not None and t.info.key == "caddy-gen",
    # (an ACME companion serves an nginx-proxy of its own project)
    "nginx-proxy": lambda t: t.info is not None and t.info.key in (
        "nginx-proxy", "docker-gen", "acme-companion", "letsencrypt-nginx-proxy-companion"),
}


def routing_kinds(data: dict) -> dict[str, str]:
    """The discovery proxies that route to this service (kind -> why), from its labels and
    environment."""
    labels = as_mapping(data.get("labels"))
    envs = as_mapping(data.get("environment"))
    out: dict[str, str] = {}
    if any(k.startswith("traefik.") for k in labels) and str(labels.get("traefik.enable", "true")).lower() != "false":
        out["traefik"] = "routed by labels"
    if any(k.startswith("caddy") for k in labels):
        out["caddy"] = "routed by labels"
    if any(k.startswith("virtual.") for k in labels):
        out["caddy-gen"] = "routed by labels"
    if "VIRTUAL_HOST" in envs or "LETSENCRYPT_HOST" in envs:
        out["nginx-proxy"] = "routed by VIRTUAL_HOST"
    return out


def collect(project: Project, a: Analysis) -> None:
    proxies = [n for n, t in a.tiers.items() if "proxy-discovery" in t.flags]
    present = {kind for kind, test in _KINDS.items() if any(test(a.tiers[p]) for p in proxies)}
    for name, svc in project.services.items():
        kinds = routing_kinds(svc.data)
        if not kinds:
            continue
        outside = [why for kind, why in kinds.items() if kind not in present]
        if outside:
            a.outside_proxy[name] = outside[0]
        why = kinds.get("nginx-proxy") or next(iter(kinds.values()))
        for p in proxies:
            a.add(p, name, f"{why} of {name}", "proxy")
