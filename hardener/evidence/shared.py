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
    for members in groups.values():
        if len(members) < 2:
            continue
        # other -> the services whose dependency from it holds all the reasons it keeps already
        # (adding another changes nothing): a kin group where everyone reaches everyone costs
        # set operations, not one new reason per (source, member, target)
        full: dict[str, set[str]] = {}
        for src in members:
            reached = [(d.dst, next(d.by_kind[k] for k in d.by_kind if k in _PROPAGATED)) for d in a.of(src) if d.kinds & _PROPAGATED]
            if not reached:
                continue
            targets = {dst for dst, _ in reached}
            for other in members:
                if other == src:
                    continue
                common_shares = shares[src] & shares[other]
                if not common_shares:
                    continue
                done = full.setdefault(other, {other})
                if targets <= done:
                    continue
                common = min(common_shares).split(":", 1)
                what = {"vol": "volume", "env_file": "env_file", "env": "environment", "volumes_from": "volumes_from"}[common[0]]
                for dst, why in reached:
                    if dst in done:
                        continue
                    a.add(other, dst, f"shares {what} {common[1].split('=')[0]} with {src}, which reaches it ({why})", "shared")
                    dep = a.deps[(other, dst)]
                    if len(dep.evidence) >= MAX_EVIDENCE and "shared" in dep.by_kind:
                        done.add(dst)
