"""What the compose file itself declares: ``depends_on``, ``links``, ``network_mode:
service:X`` / ``container:X`` (and who owns each network namespace), ``x-compose-harden:
talks-to``, and the ``traefik.docker.network`` label Traefik routes by."""

from __future__ import annotations

from hardener.classify import service_options
from hardener.compose import Project, as_mapping, untag
from hardener.evidence.model import Analysis
from hardener.interpolate import interpolate


def namespace_target(project: Project, data: dict) -> tuple[str, str] | None:
    """(kind, service) for ``network_mode: service:X`` / ``container:X`` pointing into the project."""
    mode = untag(data.get("network_mode"))
    if not isinstance(mode, str):
        return None
    mode = interpolate(mode, project.env)
    if mode.startswith("service:"):
        target = mode[8:]
        return ("service", target) if target in project.services else None
    if mode.startswith("container:"):
        cname = mode[10:]
        for name, svc in project.services.items():
            if untag(svc.data.get("container_name")) == cname or name == cname:
                return "container", name
    return None


def collect(project: Project, a: Analysis) -> None:
    services = project.services
    for name, svc in services.items():
        data = svc.data
        deps_on = untag(data.get("depends_on"))
        for d in (list(as_mapping(deps_on)) if deps_on else []):
            if d in services:
                a.add(name, d, "depends_on", "declared")
        for link in untag(data.get("links")) or []:
            target = str(link).split(":", 1)[0]
            if target in services:
                a.add(name, target, "links", "declared")
        ns = namespace_target(project, data)
        if ns:
            a.add(name, ns[1], f"network_mode {ns[0]}:{ns[1]}", "namespace")
        for t in untag(service_options(data).get("talks-to")) or []:
            if isinstance(t, str) and t in services:
                a.add(name, t, "x-compose-harden talks-to", "override")
        tn = as_mapping(data.get("labels")).get("traefik.docker.network")
        if isinstance(tn, str) and tn:
            a.traefik_network[name] = interpolate(tn, project.env)
    _owners(project, a)


def _owners(project: Project, a: Analysis) -> None:
    for name in project.services:
        seen = {name}
        cur = name
        while True:
            ns = namespace_target(project, project.services[cur].data)
            if not ns or ns[1] in seen:
                break
            cur = ns[1]
            seen.add(cur)
        a.owner[name] = cur
