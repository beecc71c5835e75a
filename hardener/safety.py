"""The plan's safety, judged again on the files as they will be written.

Independently of how the planner reasoned, the project read back from the edited text must keep
what the analysis found: every dependency whose two sides shared a network before still shares
one (namespaces followed, interpolation resolved), every service that had a way out and needs one
still has one, and no service that publishes ports sits on internal networks only (Docker would
not publish them). A violation is a bug in the tool: nothing is written.
"""

from __future__ import annotations

from typing import Any, Iterable

from hardener import ports as portspec
from hardener.bitset import bits, ones, union
from hardener.compose import Project, as_mapping, untag
from hardener.evidence import Analysis
from hardener.interpolate import interpolate
from hardener.record import record


@record(frozen=True)
class Placement:
    """Where a service is attached: its network mode and networks."""

    mode: str  # nets | host | none | other
    nets: frozenset[str]


def placements(project: Project) -> dict[str, Placement]:
    """Where each service is, namespaces resolved to their owner's networks."""
    env = project.env
    raw: dict[str, Any] = {}
    for name, svc in project.services.items():
        data = svc.data
        mode = untag(data.get("network_mode"))
        if isinstance(mode, str):
            mode = interpolate(mode, env)
            if mode.startswith("service:"):
                raw[name] = ("ns", mode[8:])
            elif mode.startswith("container:"):
                cname = mode[10:]
                owner = next((n for n, s in project.services.items()
                              if n == cname or untag(s.data.get("container_name")) == cname), None)
                raw[name] = ("ns", owner) if owner else Placement("other", frozenset())
            elif mode == "host":
                raw[name] = Placement("host", frozenset())
            elif mode == "bridge":
                raw[name] = Placement("nets", frozenset({"<bridge>"}))
            elif mode == "none":
                raw[name] = Placement("none", frozenset())
            else:
                raw[name] = Placement("other", frozenset())
            continue
        nets = untag(data.get("networks")) if "networks" in data else None
        if nets is None:
            names = {"default"}
        elif isinstance(nets, dict):
            names = {str(k) for k in nets}
        else:
            names = {interpolate(str(untag(n)), env) for n in nets or [] if n is not None}
        raw[name] = Placement("nets", frozenset(names))
    out: dict[str, Placement] = {}
    for name in project.services:
        v, hops = raw[name], 0
        while isinstance(v, tuple) and hops < 20:
            v = raw.get(v[1], Placement("other", frozenset()))
            hops += 1
        out[name] = v if isinstance(v, Placement) else Placement("other", frozenset())
    return out


def connected(pa: Placement, pb: Placement) -> bool:
    if pa.mode == "host" or pb.mode == "host":
        return True  # through the host: not judged
    return pa.mode == "nets" and pb.mode == "nets" and bool(pa.nets & pb.nets)


def internal_networks(project: Project) -> set[str]:
    out = set()
    for name, d in project.networks.items():
        d = untag(d)
        if isinstance(d, dict) and untag(d.get("internal")) is True:
            out.add(str(name))
    return out


def has_way_out(p: Placement, internal: set[str]) -> bool:
    if p.mode == "host":
        return True
    return p.mode == "nets" and any(n not in internal for n in p.nets)


def needs_way_out(a: Analysis, name: str, project: Project) -> bool:
    t = a.tiers[name]
    if t.tier != "data" or t.guessed or a.outbound.get(name):
        return True
    opts = untag(project.services[name].data.get("x-compose-harden"))
    return isinstance(opts, dict) and untag(opts.get("egress")) is True


def through_gateway(after: Project, pa: dict[str, Placement], name: str, gateway: Any, internal: set[str]) -> bool:
    """Does the service go out through the egress gateway: its proxy variables point at it, it
    shares a network with it, and the gateway has a way out?"""
    if gateway is None or gateway.service not in pa:
        return False
    env = as_mapping(after.services[name].data.get("environment"))
    proxy = f"http://{gateway.service}:"
    if not str(env.get("HTTPS_PROXY") or "").startswith(proxy) or not str(env.get("https_proxy") or "").startswith(proxy):
        return False
    g = pa[gateway.service]
    return connected(pa[name], g) and has_way_out(g, internal)


def _near(members: list[str], pb: dict[str, Placement], pa: dict[str, Placement], src_b: Placement,
          src_a: Placement, index: dict[int, tuple], key: int) -> Iterable[int]:
    """The positions of the members that can be connected to the source before (same network,
    or either on the host) and that share no network with it after, in order. Looked up as bit
    sets by network, so that a source on two of hundreds of networks does not test every member,
    and a thousand sources each meeting two thousand members do not test each pair."""
    found = index.get(key)
    if found is None:
        by_net: dict[str, list[int]] = {}
        after: dict[str, list[int]] = {}
        host: list[int] = []
        for i, d in enumerate(members):
            p = pb[d]
            if p.mode == "host":
                host.append(i)
            elif p.mode == "nets":
                for n in p.nets:
                    by_net.setdefault(n, []).append(i)
            if pa[d].mode == "nets":
                for n in pa[d].nets:
                    after.setdefault(n, []).append(i)
        found = index[key] = ({n: bits(js) for n, js in by_net.items()}, bits(host),
                              {n: bits(js) for n, js in after.items()})
    if src_b.mode == "host":
        mask = (1 << len(members)) - 1
    else:
        mask = found[1] | (union(found[0], src_b.nets) if src_b.mode == "nets" else 0)
    if src_a.mode == "nets":  # connected after through a shared network: nothing lost
        mask &= ~union(found[2], src_a.nets)
    return ones(mask)


def check(before: Project, after: Project, a: Analysis, gateway: Any = None) -> list[str]:
    """What the edited project would break (empty when nothing)."""
    pb, pa = placements(before), placements(after)
    problems: list[str] = []
    for dep in a.deps.values():
        s, d = dep.src, dep.dst
        if s in pb and d in pb and connected(pb[s], pb[d]) and not connected(pa[s], pa[d]):
            problems.append(f"{s} no longer reaches {d} ({dep.evidence[0]})")
    # a group is judged through one member per distinct placement (before, after), per member tuple
    # and the members a source would lose are found once per (member tuple, source placement)
    reps: dict[int, list[str]] = {}
    near: dict[int, tuple] = {}  # per tuple: members by network before, on the host, by network after
    lost: dict[tuple, list[str]] = {}
    for g in a.groups:
        if g.src not in pb:
            continue
        members = reps.get(id(g.dsts))
        if members is None:
            seen: dict[tuple, list[str]] = {}
            for d in g.dsts:
                if d in pb:
                    seen.setdefault((pb[d], pa[d]), []).append(d)
            members = reps[id(g.dsts)] = [x for group in seen.values() for x in group[:2]]
        src_b, src_a = pb[g.src], pa[g.src]
        key = (id(g.dsts), src_b, src_a)
        cut = lost.get(key)
        if cut is None:
            cut = lost[key] = [members[i] for i in _near(members, pb, pa, src_b, src_a, near, id(g.dsts))
                               if connected(src_b, pb[members[i]]) and not connected(src_a, pa[members[i]])]
        for d in cut:
            if d != g.src:
                problems.append(f"{g.src} no longer reaches {d} ({g.evidence})")
                break
    ib, ia = internal_networks(before), internal_networks(after)
    for name in before.services:
        if has_way_out(pb[name], ib) and not has_way_out(pa[name], ia):
            if through_gateway(after, pa, name, gateway, ia):
                continue
            if needs_way_out(a, name, before):
                problems.append(f"{name} lost its way out")
            elif portspec.publishes(after.services[name].data):
                problems.append(f"{name} publishes ports but sits on internal networks only")
    return problems
