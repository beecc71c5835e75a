"""Projects Compose refuses are refused here too, before anything is planned or written.

Docker Compose checks the merged project (``docker compose config``): a service that depends on,
links to, shares the namespace of or mounts volumes from a service that does not exist; a service
on a network that is not declared; ``network_mode`` together with ``networks``; a dependency
cycle. Hardening such a file would write a plan computed from a model Compose never builds, so
the file is refused with Compose's reason (and where Compose takes it from, the line).

Only what Compose refuses whatever the environment is refused. Services without ``profiles``
are checked (the others may not be part of the project that runs). A reference to a service that
exists in a profile is accepted: whoever runs the stack may enable that profile
(``COMPOSE_PROFILES`` in the shell or in ``.env``, ``--profile``), and a ``depends_on`` marked
``required: false`` is valid without it. References are interpolated with the project's ``.env``
as Compose does (``depends_on: ["${DB_HOST:-postgresql}"]``); one naming a variable that is not
set there and has no default is not checked (its value comes from the shell). Nothing is checked
when the project could not be read in full (an included or extended file outside the project
folder): what is missing might be there.

(Per-file checks live where the file is read: keys must be strings and the top-level sections
mappings, in hardener.yamlload and hardener.compose; ``extends`` cycles and missing bases where
``extends`` is resolved, in hardener.compose.)
"""

from __future__ import annotations

from hardener.compose import Project, Service, as_mapping, find_key
from hardener.errors import InputError
from hardener.interpolate import interpolate, unresolved
from hardener.yamlload import Tagged, untag


def _error(project: Project, svc: Service, key: str, message: str) -> InputError:
    for d in reversed(svc.defs):
        loc = find_key(d.node, key)
        if loc is not None:
            line, col = d.file.doc.position(loc.key)
            return InputError(d.file.path, message + " (Compose refuses it)", line, col)
    path = svc.defs[0].file.path if svc.defs else project.files[0].path
    return InputError(path, message + " (Compose refuses it)")


def _references(data: dict, env: dict[str, str]) -> list[tuple[str, str]]:
    """(key, service) for every service this one needs: depends_on, links, network_mode
    service:X, volumes_from X / service:X. Values are interpolated first; a value naming a
    variable the ``.env`` does not set (and gives no default) is left out."""
    out: list[tuple[str, str]] = []

    def value(v: object) -> str | None:
        text = str(untag(v))
        if "$" not in text:
            return text
        return None if unresolved(text, env) else interpolate(text, env)

    deps = untag(data.get("depends_on"))
    if isinstance(deps, list):
        names = [value(d) for d in deps]
    else:
        names = [str(k) for k in as_mapping(deps)] if deps else []  # keys are not interpolated
    out += [("depends_on", n) for n in names if n is not None]
    for link in untag(data.get("links")) or []:
        link = value(link)
        if link is not None:
            out.append(("links", link.split(":", 1)[0]))
    mode = value(data.get("network_mode")) if data.get("network_mode") is not None else None
    if isinstance(mode, str) and mode.startswith("service:"):
        out.append(("network_mode", mode.split(":", 1)[1]))
    for vol in untag(data.get("volumes_from")) or []:
        vol = value(vol)
        if vol is None or vol.startswith("container:"):
            continue
        out.append(("volumes_from", (vol[len("service:"):] if vol.startswith("service:") else vol).split(":", 1)[0]))
    return out


def check_project(project: Project) -> None:
    """Refuse a project Compose would refuse (see the module's docstring)."""
    if project.notes:  # something was not read: the model may be incomplete
        return
    services = project.services
    active = {n: s for n, s in services.items() if not untag(s.data.get("profiles"))}
    declared = set(project.networks) | {"default"}
    graph: dict[str, list[str]] = {}
    env = project.env
    for name, svc in active.items():
        data = svc.data
        refs = _references(data, env)
        for key, target in refs:
            if target not in services:
                raise _error(project, svc, key, f"service '{name}' depends on undefined service '{target}'")
        graph[name] = [t for _, t in refs if t in active]
        nets = data.get("networks")
        mode = data.get("network_mode")
        if nets is not None and mode is not None and not isinstance(nets, Tagged) and not isinstance(mode, Tagged) \
                and untag(nets) not in ({}, []):
            raise _error(project, svc, "network_mode", f"service '{name}' declares both network_mode and networks, "
                         "which exclude each other")
        for net in as_mapping(nets) if nets is not None and not isinstance(nets, Tagged) else {}:
            if "$" not in net and net not in declared:
                raise _error(project, svc, "networks", f"service '{name}' refers to undefined network '{net}'")
    cycle = _cycle(graph)
    if cycle:
        raise _error(project, active[cycle[0]], "depends_on", "dependency cycle: " + " -> ".join(cycle))


def _cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A dependency cycle (first service repeated at the end), found iteratively, or None."""
    state: dict[str, int] = {}  # 1 on the path, 2 done
    for start in sorted(graph):
        if state.get(start):
            continue
        path: list[str] = [start]
        iters = [iter(graph.get(start, []))]
        state[start] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
                continue
            st = state.get(nxt)
            if st == 1:
                return path[path.index(nxt):] + [nxt]
            if st is None and nxt in graph:
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(graph.get(nxt, [])))
    return None
