"""How each service is networked now, and whether the tool may edit its network keys.

Network names in a service's ``networks`` list and its ``network_mode`` are interpolated the way
Compose does it (``${NET:-back}``, the project's ``.env``); a value that cannot be resolved (a
variable with no default that only the shell of whoever runs Compose would set) leaves the service
as it is, and the summary says so.
"""

from __future__ import annotations

from typing import Any

from hardener.compose import Service, as_mapping, command_texts, find_key, untag
from hardener.hostmode import Justification, comment_justification, option_justification
from hardener.interpolate import interpolate, unresolved
from hardener.plan.model import ABSENT
from hardener.record import field, record


@record
class State:
    """How a service is attached to networks now, and whether its networks can be edited."""

    mode: str  # default | nets | bridge | host | none | namespace | other
    nets: list[str]  # networks it is on now (explicit, interpolated, or "default")
    form: str | None = None  # "list" | "dict" for an explicit networks key
    attrs: dict[str, Any] = field(default_factory=dict)  # per-network settings (aliases, ipv4_address...)
    editable: bool = True
    why_fixed: str = ""
    raw: list[Any] = field(default_factory=list)  # list form: the items as written, in order
    unresolved: str = ""  # what could not be interpolated


def networks_value(data: dict) -> Any:
    return untag(data["networks"]) if "networks" in data else ABSENT


def current_state(svc: Service, env: dict[str, str], extenders: dict[str, dict[str, str]] | None = None,
                  modes: dict[str, dict] | None = None) -> State:
    """``extenders``: service -> the keys it inherits through extends (from Service.inherited);
    ``modes``: service -> its data (to see who has a network_mode)."""
    extenders = extenders or {}
    data = svc.data
    editable = svc.editable and not ({"networks", "network_mode"} & set(svc.inherited))
    why = svc.readonly_reason or (
        f"its network settings come from {svc.inherited.get('networks') or svc.inherited.get('network_mode')}"
        if not editable
        else ""
    )
    if editable and len(svc.defs) > 1 and find_key(svc.defs[0].node, "networks") is None and any(
        find_key(d.node, "networks") is not None for d in svc.defs[1:]
    ):
        # Its networks are set only in a later file: in the first file alone it sits on default.
        # Moving it would break that file used alone (production without the override).
        editable = False
        why = f"its networks are set only in {next(d.file.path for d in svc.defs[1:] if find_key(d.node, 'networks'))}"
    inheriting = [e for e in svc.extended_by if {"networks", "network_mode"} & set(extenders.get(e, {}))]
    if editable and inheriting:
        # its network keys are theirs too: editing it would change them behind the plan's back
        editable = False
        why = f"{', '.join(inheriting)} inherit{'s' if len(inheriting) == 1 else ''} its network settings through extends"
    for d in svc.defs if editable else []:
        merged_by = len(d.file.merges().get(id(d.node), []))
        if d.file.doc.anchors_used.get(id(d.node), 0) - 1 > merged_by:
            editable = False  # "db2: *db": the service is an alias; editing it would edit the other
            why = "its definition is shared with another key through a YAML anchor"
        elif merged_by and any("network_mode" in (modes or {}).get(u, {}) for u in d.file.merge_users(d.node)):
            editable = False  # a service merging it has network_mode: it cannot also get networks
            why = "a service that merges it (<<) has its own network_mode"
    mode = untag(data.get("network_mode"))
    if mode is not None:
        mode = str(mode)
        missing = unresolved(mode, env)
        if missing:
            return State("other", [], editable=False, why_fixed=f"network_mode {mode} cannot be resolved",
                         unresolved=f"network_mode {mode} (${{{missing[0]}}} is not set in .env and has no default)")
        mode = interpolate(mode, env)
        if mode == "host":
            return State("host", [], editable=editable, why_fixed=why)
        if mode == "bridge":
            return State("bridge", ["<bridge>"], editable=editable, why_fixed=why)
        if mode == "none":
            return State("none", [], editable=False, why_fixed="network_mode: none")
        if mode.startswith(("service:", "container:")):
            return State("namespace", [], editable=False, why_fixed=f"network_mode: {mode}")
        return State("other", [], editable=False, why_fixed=f"network_mode: {mode}")
    nets = networks_value(data)
    if nets is ABSENT:
        return State("default", ["default"], editable=editable, why_fixed=why)
    if isinstance(nets, list):
        raw = [untag(n) for n in nets if n is not None]
        missing = [(str(n), unresolved(str(n), env)) for n in raw if unresolved(str(n), env)]
        names = [str(n) if unresolved(str(n), env) else interpolate(str(n), env) for n in raw]
        if missing:
            item, var = missing[0]
            return State("nets", names, "list", {}, editable=False, why_fixed=f"its network {item} cannot be resolved",
                         raw=raw, unresolved=f"network {item} (${{{var[0]}}} is not set in .env and has no default)")
        return State("nets", names, "list", {}, editable=editable and bool(names), why_fixed=why or "empty networks list",
                     raw=raw)
    if isinstance(nets, dict):
        names = [str(k) for k in nets]
        attrs = {str(k): untag(v) for k, v in nets.items() if untag(v)}
        return State("nets", names, "dict", attrs, editable=editable and bool(names), why_fixed=why or "empty networks")
    return State("other", [], editable=False, why_fixed="networks is not a list or mapping")


def provider_network(data: dict) -> bool:
    """Does a Traefik service name the network its Docker provider uses?"""
    texts = [t for _, t in command_texts(data)] + [f"{k}={v}" for k, v in as_mapping(data.get("environment")).items()]
    return any("providers.docker.network" in t or "PROVIDERS_DOCKER_NETWORK" in t.upper() for t in texts)


def host_justification(svc: Service) -> Justification:
    opt = option_justification(svc.data)
    if opt.justified:
        return opt
    for d in reversed(svc.defs):
        loc = find_key(d.node, "network_mode")
        if loc is not None:
            lines = d.file.lines()
            j = comment_justification(lines, d.file.line_of(loc.key))
            if j.justified or j.marker_without_reason:
                return j
            break
    return opt


def pinned(st: State, net: str) -> str | None:
    """The fixed address the service has on ``net`` (ipv4_address / ipv6_address), if any."""
    attrs = st.attrs.get(net)
    if isinstance(attrs, dict):
        for key in ("ipv4_address", "ipv6_address"):
            if attrs.get(key):
                return f"{key} {attrs[key]}"
    return None
