"""Evidence that travels through shared state.

Services that run the same image (or merge the same anchor) as a service that reaches X, and
share its configuration -- a volume, an ``env_file`` or environment values -- reach X too. In an
ERP stack a ``configurator`` writes ``db_host`` and ``redis_*`` into the ``sites`` volume that the
web backend, queue workers and scheduler (all the same image) read at start: none of them names
the database in its own keys, yet all of them use it.
"""

from __future__ import annotations

from hardener.compose import Project, as_mapping, untag
from hardener.evidence.model import MAX_EVIDENCE, Analysis
from hardener.interpolate import interpolate

# kinds of evidence that describe what a process connects to (not what the file declares about
# start order, and not other shared-state inferences)
_PROPAGATED = frozenset({"hostname", "config", "source"})
# how a kind of shared state is named in the evidence
_WHAT = {"vol": "volume", "env_file": "env_file", "env": "environment", "volumes_from": "volumes_from"}


def _volumes(data: dict, env: dict[str, str]) -> set[str]:
    out = set()
    for v in untag(data.get("volumes")) or []:
        v = untag(v)
        if isinstance(v, str) and ":" in v:
            out.add("vol:" + interpolate(v.split(":", 1)[0], env))
        elif isinstance(v, dict) and isinstance(untag(v.get("source")), str):
            out.add("vol:" + interpolate(untag(v["source"]), env))
    for f in untag(data.get("env_file")) or []:
        f = untag(f)
        if isinstance(f, dict):
            f = untag(f.get("path"))
        if isinstance(f, str):
            out.add("env_file:" + f)
    for k, v in as_mapping(data.get("environment")).items():
        if v is not None:
            out.add(f"env:{k}={v}")
    for v in untag(data.get("volumes_from")) or []:
        out.add("volumes_from:" + str(untag(v)).split(":", 1)[0])
    return out


def _kin_key(project: Project, name: str, a: Analysis) -> str | None:
    svc = project.services[name]
    image = a.tiers[name].image
    if image:
        return "image:" + image
    build = untag(svc.data.get("build"))
    if build is not None:
        return "build:" + repr(build)
    return None


def collect(project: Project, a: Analysis) -> None:
    env = project.env
    groups: dict[str, list[str]] = {}
    for name in project.services:
        if a.tiers[name].tier == "data":
            continue
        key = _kin_key(project, name, a)
        if key:
            groups.setdefault(key, []).append(name)
        for d in project.services[name].defs:  # services merging the same anchor are kin too
            for src in d.file.merges_into(d.node):
                groups.setdefault(f"anchor:{id(src)}", []).append(name)
    shares = {n: _volumes(project.services[n].data, env) for n in project.services}
    order = {n: i for i, n in enumerate(project.services)}
    interned: dict[tuple, tuple] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        reached_by = {src: _reached(a, src) for src in members}
        targets = {dst for r in reached_by.values() for dst, _ in r}
        if len(members) * len(targets) > LARGE_GROUP:
            _collect_large(a, members, reached_by, shares, order, interned)
            continue
        # other -> the services whose dependency from it holds all the reasons it keeps already
        # (adding another changes nothing): a kin group where everyone reaches everyone costs
        # set operations, not one new reason per (source, member, target)
        full: dict[str, set[str]] = {}
        others = members  # the members that can still gain something
        gaining = set(others)
        holders, position = _holders(members, shares)
        for src in members:
            reached = reached_by[src]
            if not reached:
                continue
            src_targets = {dst for dst, _ in reached}
            finished = False
            for other in _sharing(src, others, gaining, holders, position, shares):
                if other == src:
                    continue
                common_shares = shares[src] & shares[other]
                if not common_shares:
                    continue
                done = full.setdefault(other, {other})
                if src_targets <= done:
                    continue
                common = min(common_shares).split(":", 1)
                what = _WHAT[common[0]]
                for dst, why in reached:
                    if dst in done:
                        continue
                    a.add(other, dst, f"shares {what} {common[1].split('=')[0]} with {src}, which reaches it ({why})", "shared")
                    dep = a.deps[(other, dst)]
                    if len(dep.evidence) >= MAX_EVIDENCE and "shared" in dep.by_kind:
                        done.add(dst)
                        finished = finished or targets <= done
            if finished:
                others = still_gaining(others, full, targets)
                gaining = set(others)


def _holders(members: list[str], shares: dict[str, set[str]]) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Which members hold each shared item (items held by two or more), and each member's place."""
    holders: dict[str, list[str]] = {}
    for m in members:
        for item in shares[m]:
            holders.setdefault(item, []).append(m)
    return {i: h for i, h in holders.items() if len(h) > 1}, {m: i for i, m in enumerate(members)}


def _sharing(src: str, others: list[str], gaining: set[str], holders: dict[str, list[str]],
             position: dict[str, int], shares: dict[str, set[str]]) -> list[str]:
    """The members of ``others`` (in its order) that may share an item with ``src``: those holding
    one of its items, when they are fewer than ``others`` -- workers of one image that each have
    their own URL share nothing, and comparing each with each would cost N * N -- else all of
    ``others``, which the caller tests one by one."""
    lists = [holders[i] for i in shares[src] if i in holders]
    if sum(len(h) for h in lists) >= len(others):
        return others
    found = {m for h in lists for m in h if m in gaining}
    return sorted(found, key=position.__getitem__)


def still_gaining(others: list[str], full: dict[str, set[str]], targets: set[str]) -> list[str]:
    """The members that can still gain a reason: one that holds every target of its group gains
    nothing from later sources, so it is dropped -- thousands of workers of one image sharing one
    URL cost N, not N * N."""
    return [o for o in others if o not in full or not targets <= full[o]]


# A kin group whose members could gain more than this many (member, target) pairs is kept as one
# group dependency per member, members with the same targets sharing one tuple (the planner works
# per distinct tuple): N services of one image naming one database each cost N, not N * N.
# Smaller groups get one dependency per pair, each naming the member it was learnt from.
LARGE_GROUP = 4096


def _reached(a: Analysis, src: str) -> list[tuple[str, str]]:
    """(target, why) for what ``src`` connects to (evidence that propagates)."""
    return [(d.dst, next(d.by_kind[k] for k in d.by_kind if k in _PROPAGATED)) for d in a.of(src) if d.kinds & _PROPAGATED]


def _collect_large(a: Analysis, members: list[str], reached_by: dict[str, list[tuple[str, str]]],
                   shares: dict[str, set[str]], order: dict[str, int], interned: dict[tuple, tuple]) -> None:
    """What members sharing a volume, env_file or environment value with a source gain: the
    union of what the sources of each shared item reach (the first source, in file order, named),
    as one group dependency per member. Items with the same targets share one tuple, and a
    member whose items add nothing to its largest one uses that item's tuple as it is."""
    holders: dict[str, int] = {}
    for src in members:
        for item in shares[src]:
            holders[item] = holders.get(item, 0) + 1
    by_item: dict[str, dict[str, tuple[str, str]]] = {}  # item -> target -> (source, why)
    for src in members:
        for item in sorted(shares[src]):
            if holders[item] < 2:
                continue  # no other member holds it: nothing passes through it (as in the pair path)
            gained = by_item.setdefault(item, {})
            for dst, why in reached_by[src]:
                gained.setdefault(dst, (src, why))

    def key(d: str) -> tuple:
        return order.get(d, len(order)), d

    tuples: dict[str, tuple] = {}
    sets: dict[int, frozenset] = {}
    for item, gained in by_item.items():
        if gained:
            t = tuple(sorted(gained, key=key))
            t = tuples[item] = interned.setdefault(t, t)
            if id(t) not in sets:
                sets[id(t)] = frozenset(t)
    for other in members:
        items = sorted(i for i in shares[other] if i in tuples)
        if not items:
            continue
        base = max(items, key=lambda i: len(tuples[i]))  # the first of the largest
        dsts = tuples[base]
        covered = sets[id(dsts)]
        extra = {d for i in items if tuples[i] is not dsts for d in tuples[i] if d not in covered}
        if extra:
            t = tuple(sorted(covered | extra, key=key))
            dsts = interned.setdefault(t, t)
            sets.setdefault(id(dsts), frozenset(dsts))
        if any(d != other for d in dsts[:2]):
            src, why = by_item[base][tuples[base][0]]
            kind, _, name = base.partition(":")
            a.add_group(other, dsts, f"shares {_WHAT[kind]} {name.split('=')[0]} with {src} (and kin), "
                                     f"which reach them ({why})", "shared")
