"""What the user sees: unified diffs, the summary on stderr, the JSON report."""

from __future__ import annotations

import difflib
import json
from dataclasses import replace
from typing import Any

from hardener import __version__
from hardener.compose import parse_source
from hardener.pipeline import Result
from hardener.plan import ABSENT

TIER_LABEL = {"edge": "edge service", "app": "app service", "data": "data store"}


def unified_diff(path: str, before: str, after: str) -> str:
    a = before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    out: list[str] = []
    for line in difflib.unified_diff(a, b, fromfile=f"a/{path}", tofile=f"b/{path}"):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def display_path(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _value(v: Any) -> str:
    if v is ABSENT:
        return "(none)"
    if isinstance(v, dict):
        return ", ".join(str(k) for k in v)
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    return str(v)


def summary_lines(result: Result) -> list[str]:
    name = " + ".join(display_path(p) for p in result.paths)
    if result.error is not None:
        return [f"error: {result.error}"]
    plan = result.plan
    assert plan is not None
    lines: list[str] = []
    internal = {n for n, np_ in plan.networks.items() if np_.set_internal or (np_.create and isinstance(np_.definition, dict) and np_.definition.get("internal"))}
    for sp in plan.changed_services():
        t = sp.tier
        label = f"{sp.name}: {TIER_LABEL[t.tier]} ({t.evidence})"
        parts = []
        if "networks" in sp.changed_keys or "network_mode" in sp.changed_keys:
            nets = sp.after["networks"]
            if nets is ABSENT:
                parts.append("network default")
            else:
                names = list(nets) if isinstance(nets, dict) else [str(x) for x in nets]
                why = {}
                for r in sp.reasons:
                    if " (" in r:
                        n, w = r.split(" (", 1)
                        why.setdefault(n, w.rstrip(")"))
                shown = []
                for n in names:
                    extra = [w for w in (("internal: true" if n in internal else ""), why.get(n, "")) if w]
                    shown.append(f"{n} ({'; '.join(extra)})" if extra else n)
                parts.append(("network " if len(names) == 1 else "networks ") + ", ".join(shown))
            if sp.before["network_mode"] is not ABSENT and sp.after["network_mode"] is ABSENT:
                parts.append(f"network_mode: {sp.before['network_mode']} removed")
        if "ports" in sp.changed_keys:
            parts.extend(r for r in sp.reasons if r.startswith("publishes "))
        lines.append(f"{label} -> {'; '.join(parts)}")
    for n, np_ in plan.networks.items():
        if np_.create:
            lines.append(f"network {n}: created" + (" with internal: true" if n in internal else ""))
        elif np_.set_internal:
            lines.append(f"network {n}: internal: true ({np_.reason})")
    for fe in result.edits:
        for note in fe.notes:
            lines.append(f"{display_path(fe.file.path)}: {note}")
    for note in plan.notes:
        lines.append(note)
    a = plan.analysis
    for svc, why in plan.assumed.items():
        stores = [d.dst for d in a.of(svc) if d.kind == "assumed"]
        lines.append(f"{svc}: {why}: keeps access to data stores ({', '.join(stores)})")
    for f in plan.findings:
        if not f.fixed:
            lines.append(f"finding [{f.rule}] {f.service + ': ' if f.service else ''}{f.message}")
    header = f"{name}: "
    if result.changed_edits:
        header += f"{len(plan.changed_services())} service(s) to change"
    else:
        header += "nothing to change"
    open_findings = len(result.open_findings)
    if open_findings:
        header += f", {open_findings} finding(s) need a human"
    return [header] + ["  " + line for line in lines]


def _path_str(parts: list) -> str:
    return ".".join(str(p) for p in parts)


def structured_changes(result: Result) -> list[dict]:
    """The data changes of each file, as DeepDiff sees them (before -> after)."""
    from deepdiff import DeepDiff  # imported only when a JSON report needs it

    out: list[dict] = []
    for fe in result.changed_edits:
        new = parse_source(replace(fe.file.source, text=fe.new_text))
        diff = DeepDiff(fe.file.data, new.data, view="tree")
        for kind, levels in diff.items():
            for level in levels:
                path = level.path(output_format="list")
                entry: dict[str, Any] = {"file": display_path(fe.file.path), "path": _path_str(path), "change": _KINDS.get(kind, kind)}
                if level.t1 is not None and not _is_notpresent(level.t1):
                    entry["before"] = _jsonable(level.t1)
                if level.t2 is not None and not _is_notpresent(level.t2):
                    entry["after"] = _jsonable(level.t2)
                out.append(entry)
    return out


_KINDS = {
    "dictionary_item_added": "added",
    "iterable_item_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_removed": "removed",
    "values_changed": "changed",
    "type_changes": "changed",
}


def _is_notpresent(value: Any) -> bool:
    return type(value).__name__ == "NotPresent"


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


def json_report(results: list[Result], mode: str, exit_code: int) -> str:
    files = []
    for r in results:
        entry: dict[str, Any] = {"path": " + ".join(display_path(p) for p in r.paths), "files": [display_path(p) for p in r.paths]}
        if r.error is not None:
            entry["status"] = "error"
            entry["error"] = {"file": display_path(r.error.path), "line": r.error.line, "column": r.error.column, "message": r.error.message}
            files.append(entry)
            continue
        plan = r.plan
        assert plan is not None
        entry["status"] = ("written" if mode == "write" else "changes pending") if r.changed_edits else "unchanged"
        entry["services"] = [
            {"name": n, "tier": t.tier, "evidence": t.evidence, "image": t.image}
            for n, t in plan.analysis.tiers.items()
        ]
        entry["dependencies"] = [
            {"from": d.src, "to": d.dst, "kind": d.kind, "evidence": d.evidence} for d in plan.analysis.deps.values()
        ]
        entry["changes"] = structured_changes(r) if r.changed_edits else []
        entry["findings"] = [f.as_dict() for f in plan.findings]
        files.append(entry)
    return json.dumps({"tool": "compose-harden", "version": __version__, "mode": mode, "exit_code": exit_code, "files": files}, indent=2)
