"""Check the edited text before anything is written.

1. Every edited file re-parses, and its data equals the original everywhere except the top-level
   ``networks`` and the ``networks`` / ``network_mode`` / ``ports`` of services the plan changed
   (and of anchors the editor edited for them). Plain equality decides; DeepDiff, imported only
   when there is a difference to explain, says exactly what differed.
2. The merged project read back from the edited files has exactly the planned values.
3. That project is safe (:mod:`hardener.safety`): every dependency that shared a network still
   does, every service that needs a way out keeps one, no published port ends up unpublishable.

Any failure is a bug in the tool: the project is refused and no file is touched.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hardener import safety
from hardener.compose import ComposeFile, build_project, parse_source, untag
from hardener.edit import FileEdit
from hardener.errors import InputError, VerifyError
from hardener.plan import ABSENT, NETWORK_KEYS, Plan
from hardener.source import Source


def _masked(data: Any, services: set[str], anchors: set[str]) -> Any:
    if not isinstance(data, dict):
        return data
    out = dict(data)
    out.pop("networks", None)
    svcs = untag(out.get("services"))
    if isinstance(svcs, dict):
        svcs = dict(svcs)
        for name in services:
            s = untag(svcs.get(name))
            if isinstance(s, dict):
                svcs[name] = {k: v for k, v in s.items() if k not in NETWORK_KEYS}
        out["services"] = svcs
    for key in anchors:
        v = out.get(key)
        if isinstance(v, dict):
            out[key] = _strip_network_keys(v)
    return out


def _strip_network_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_network_keys(v) for k, v in value.items() if k not in NETWORK_KEYS}
    return value


def explain(before: Any, after: Any, limit: int = 6) -> str:
    from deepdiff import DeepDiff  # imported only when there is something to explain

    diff = DeepDiff(before, after, verbose_level=2)
    parts: list[str] = []
    for kind, items in diff.items():
        if isinstance(items, dict):
            for path, change in items.items():
                parts.append(f"{kind.replace('_', ' ')} at {path}: {change}")
        else:
            for path in items:
                parts.append(f"{kind.replace('_', ' ')} at {path}")
    if not parts:
        return "the data differs"
    more = f" (+{len(parts) - limit} more)" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more


def _norm_networks(value: Any) -> Any:
    """Networks in a form where list/mapping order does not matter (Compose merges them anyway)."""
    value = untag(value)
    if value is ABSENT or value is None:
        return value
    if isinstance(value, list):
        return {str(untag(v)): None for v in value}
    if isinstance(value, dict):
        return {str(k): (untag(v) or None) for k, v in value.items()}
    return value


def verify(plan: Plan, edits: list[FileEdit], max_bytes: int) -> dict[str, ComposeFile]:
    """Re-parse every edited file and check it says exactly what the plan says."""
    changed_services = {sp.name for sp in plan.changed_services()}
    reparsed: dict[str, ComposeFile] = {}
    for fe in edits:
        if not fe.changed:
            continue
        cf = fe.file
        source: Source = replace(cf.source, text=fe.new_text)
        try:
            new = parse_source(source, measured=True)
        except InputError as exc:
            raise VerifyError(cf.path, f"internal error: the edited file does not parse ({exc.message}); file left untouched", exc.line, exc.column) from None
        before = _masked(cf.data, changed_services, fe.touched_anchors)
        after = _masked(new.data, changed_services, fe.touched_anchors)
        if before != after:
            raise VerifyError(cf.path, "internal error: the edit changed data outside network keys: "
                              + explain(before, after) + "; file left untouched")
        reparsed[cf.path] = new
    files = [reparsed.get(cf.path, cf) for cf in plan.project.files]
    project = build_project(files, max_bytes, env=plan.project.env, extra=plan.project.extra_files)
    for sp in plan.services.values():  # every service: an edit must not reach one it did not plan for
        svc = project.services.get(sp.name)
        if svc is None:
            raise VerifyError(files[0].path, f"internal error: service {sp.name} lost by the edit")
        for key in NETWORK_KEYS:
            got = untag(svc.data[key]) if key in svc.data else ABSENT
            want = sp.after.get(key, ABSENT)
            if key == "networks":
                got, want = _norm_networks(got), _norm_networks(want)
            if got != want and not (got is ABSENT and want is ABSENT):
                raise VerifyError(
                    files[0].path,
                    f"internal error: {sp.name}.{key} is {got!r} after the edit, the plan says {want!r}; file left untouched",
                )
    problems = safety.check(plan.project, project, plan.analysis)
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        raise VerifyError(files[0].path, "internal error: the edited files would break the stack: "
                          + "; ".join(problems[:3]) + more + "; nothing written")
    # a network defined as "name:" (null) and as "name: {}" is the same network
    want_nets = {k: untag(v) or {} for k, v in plan.final_networks().items()}
    got_nets = {k: untag(v) or {} for k, v in project.networks.items()}
    if want_nets != got_nets:
        raise VerifyError(files[0].path, "internal error: top-level networks differ from the plan: "
                          + explain(want_nets, got_nets))
    return reparsed
