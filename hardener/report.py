"""What the user sees: unified diffs, the summary on stderr, the JSON report."""

from __future__ import annotations

from typing import Any

from hardener import __version__
from hardener.edit import FileEdit
from hardener.lines import Lines, split_lines
from hardener.pipeline import Result
from hardener.plan import ABSENT, NETWORK_KEYS
from hardener.record import replace
from hardener.show import names as name_list
from hardener.source import BOM
from hardener.textedit import Splice, apply
from hardener.yamlload import untag

TIER_LABEL = {"edge": "edge service", "app": "app service", "data": "data store"}


def file_diff(fe: FileEdit) -> str:
    """The unified diff of one edited file, of the text as it is on disk (a BOM, CR-only line
    endings), so that ``patch -p1`` applies it and yields exactly what --write writes."""
    source = fe.file.source
    shift = len(BOM) if source.bom else 0
    splices = fe.splices
    if shift or source.cr_only:
        splices = [replace(s, start=s.start + shift, end=s.end + shift, text=source.disk_text(s.text, bom=False))
                   for s in splices]
    return unified_diff(display_path(fe.file.path), source.disk_text(source.text), source.disk_text(fe.new_text), splices)


def unified_diff(path: str, before: str, after: str, splices: list[Splice] | None = None, context: int = 3) -> str:
    """A unified diff of one file. With the editor's splices the hunks come straight from them
    (linear in the file size); without, difflib computes them. Lines are those of hardener.lines
    (ending at '\n'), as patch counts them."""
    if splices is None:
        return _difflib_diff(path, before, after)
    old = split_lines(before)
    changes = _line_changes(before, splices)
    out: list[str] = []
    shift = 0  # new line number - old line number before the current change
    i = 0
    while i < len(changes):
        # gather changes whose contexts touch into one hunk
        j = i
        while j + 1 < len(changes) and changes[j + 1][0] - changes[j][1] <= 2 * context:
            j += 1
        first_old = max(changes[i][0] - context, 0)
        last_old = min(changes[j][1] + context, len(old))
        body: list[str] = []
        pos = first_old
        new_count = 0
        hunk_shift = shift
        for k in range(i, j + 1):
            start, stop, new_lines = changes[k]
            for line in old[pos:start]:
                body.append(" " + line)
                new_count += 1
            body.extend("-" + line for line in old[start:stop])
            body.extend("+" + line for line in new_lines)
            new_count += len(new_lines)
            shift += len(new_lines) - (stop - start)
            pos = stop
        for line in old[pos:last_old]:
            body.append(" " + line)
            new_count += 1
        old_count = last_old - first_old
        new_start = first_old + hunk_shift
        out.append(f"@@ -{_range(first_old, old_count)} +{_range(new_start, new_count)} @@\n")
        out.extend(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in body)
        i = j + 1
    if not out:
        return ""
    return f"--- a/{path}\n+++ b/{path}\n" + "".join(out)


def _range(start: int, count: int) -> str:
    if count == 1:
        return str(start + 1)
    return f"{start + 1 if count else start},{count}"


def _line_changes(text: str, splices: list[Splice]) -> list[tuple[int, int, list[str]]]:
    """Splices as whole-line changes: (first old line, line after the last old line, new lines),
    sorted, merged where they touch, with lines the change leaves as they were trimmed off."""
    lines = Lines(text)
    spans: list[list] = []
    for sp in sorted(splices, key=lambda s: (s.start, s.end, s.rank, s.order)):
        # an edit at the very end of a file without a final newline changes its last line
        first = lines.line_of(sp.start) if sp.start < len(text) or not text.endswith("\n") else len(lines)
        at_line_start = sp.start == lines.start(first)
        if sp.end > sp.start:
            stop = lines.line_of(sp.end - 1) + 1
        else:
            stop = first if at_line_start else first + 1
        if spans and first < spans[-1][1] or (spans and first == spans[-1][1] and not at_line_start):
            spans[-1][1] = max(spans[-1][1], stop)
            spans[-1][2].append(sp)
        else:
            spans.append([first, stop, [sp]])
    old = split_lines(text)
    out: list[tuple[int, int, list[str]]] = []
    for first, stop, group in spans:
        lo, hi = lines.start(first), lines.start(stop) if stop < len(lines) else len(text)
        segment = text[lo:hi]
        new_segment = apply(segment, [replace(s, start=s.start - lo, end=s.end - lo) for s in group])
        old_lines = old[first:stop]
        new_lines = split_lines(new_segment)
        while old_lines and new_lines and old_lines[0] == new_lines[0]:
            old_lines.pop(0)
            new_lines.pop(0)
            first += 1
        while old_lines and new_lines and old_lines[-1] == new_lines[-1]:
            old_lines.pop()
            new_lines.pop()
            stop -= 1
        if old_lines or new_lines:
            out.append((first, stop, new_lines))
    return out


def _difflib_diff(path: str, before: str, after: str) -> str:
    import difflib  # only for diffs without splices (tests compare against it)

    a = split_lines(before)
    b = split_lines(after)
    out: list[str] = []
    for line in difflib.unified_diff(a, b, fromfile=f"a/{path}", tofile=f"b/{path}"):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def display_path(path: str) -> str:
    return "<stdin>" if path == "-" else path


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
            names = ["default"] if nets is ABSENT else list(nets) if isinstance(nets, dict) else [str(x) for x in nets]
            shown = []
            for n in names:
                extra = [w for w in (("internal: true" if n in internal else ""), sp.why.get(n, "")) if w]
                shown.append(f"{n} ({'; '.join(extra)})" if extra else n)
            parts.append(("network " if len(names) == 1 else "networks ") + ", ".join(shown))
            if sp.before["network_mode"] is not ABSENT and sp.after["network_mode"] is ABSENT:
                parts.append(f"network_mode: {sp.before['network_mode']} removed")
        if "ports" in sp.changed_keys and sp.ports_why:
            parts.append(sp.ports_why)
        if sp.env_set and plan.gateway is not None:
            parts.append(f"sets {', '.join(sp.env_set)}: outbound through {plan.gateway.service}")
        lines.append(f"{label} -> {'; '.join(parts)}")
    g = plan.gateway
    if g is not None and plan.gateway_changed:
        what = "updated" if g.exists else "added"
        lines.append(f"egress gateway {g.service}: {what} ({g.image}, {g.mode} mode; configs.{g.config} holds its squid.conf), "
                     f"on {', '.join(g.networks)}; routes {name_list(g.routed) or 'no service yet'}")
    for n, np_ in plan.networks.items():
        if np_.create:
            lines.append(f"network {n}: created" + (" with internal: true" if n in internal else ""))
        elif np_.set_internal:
            lines.append(f"network {n}: internal: true ({np_.reason})")
    for fe in result.edits:
        for note in fe.notes:
            lines.append(f"{display_path(fe.file.path)}: {note}")
    for note in plan.project.notes + plan.notes:
        lines.append(note)
    lines.extend(_not_verified(plan))
    lines.extend(_grouped_findings([f for f in plan.findings if not f.fixed and f.acknowledged is None]))
    for f in result.acknowledged_findings:
        lines.append(f"acknowledged [{f.rule}] {f.service + ': ' if f.service else ''}{f.message} "
                     f"(accepted at {f.acknowledged.where}: {f.acknowledged.reason})")
    header = f"{name}: "
    if result.changed_edits and plan.changed_services():
        header += f"{len(plan.changed_services())} service(s) to change"
    elif result.changed_edits:
        header += f"{len(plan.networks)} network(s) to change"
    else:
        header += "nothing to change"
    open_findings = len(result.open_findings)
    if open_findings:
        header += f", {open_findings} finding(s) need a human"
    acknowledged = len(result.acknowledged_findings)
    if acknowledged:
        header += f", {acknowledged} acknowledged"
    return [header] + ["  " + line for line in lines]


# More services than this with the same finding (or the same unverified reach) are printed as one
# line naming them, so that a stack of thousands of services gives a readable summary.
GROUP_FROM = 4


def _not_verified(plan) -> list[str]:
    a = plan.analysis
    reach_of = plan.assumed_reach  # what each one's kept reach reaches (tuples shared by many)
    groups: dict[tuple, list[str]] = {}
    for svc, why in plan.assumed.items():
        tuples = tuple(sorted({id(g.dsts) for g in a.groups_by_src.get(svc, []) if g.kind == "assumed"}))
        groups.setdefault((why, tuples), []).append(svc)
    out = []
    for (why, _), members in groups.items():
        if len(members) < GROUP_FROM:
            for m in members:
                reach = [d for d in reach_of[m] if d != m]
                if reach:
                    out.append(f"not verified: {m} keeps its reach to {name_list(reach)} ({why})")
        else:
            distinct = {id(reach_of[m]): reach_of[m] for m in members}
            kept = list(dict.fromkeys(d for t in distinct.values() for d in t))
            member_set = set(members)
            reach = [d for d in kept if d not in member_set] or kept
            out.append(f"not verified: {name_list(members)} keep their reach to {name_list(reach)} ({why})")
    return out


def _grouped_findings(findings) -> list[str]:
    """One line per finding; the same finding for many services (the service's name aside) once."""
    groups: dict[tuple, list] = {}
    for f in findings:
        text = _masked(f.message, f.service) if f.service else f.message
        groups.setdefault((f.rule, f.note, text), []).append(f)
    out = []
    for (rule, note, text), fs in groups.items():
        kind = "note" if note else "finding"
        if len(fs) < GROUP_FROM or not fs[0].service:
            out.extend(f"{kind} [{f.rule}] {f.service + ': ' if f.service else ''}{f.message}" for f in fs)
        else:
            out.append(f"{kind} [{rule}] {name_list([f.service for f in fs])}: {text}")
    return out


def _masked(text: str, name: str) -> str:
    """``text`` with each use of the service name as a whole name replaced by ``<service>`` (not
    inside a longer name such as ``db-backup`` or ``x.db``). A string search, not a regular
    expression per service: thousands of services would each compile one."""
    out, start, i = [], 0, text.find(name)
    while i >= 0:
        end = i + len(name)
        before = text[i - 1] if i else " "
        after = text[end] if end < len(text) else " "
        if before.isalnum() or before in "_.-" or after.isalnum() or after in "_-":
            i = text.find(name, i + 1)
            continue
        out += (text[start:i], "<service>")
        start = end
        i = text.find(name, end)
    out.append(text[start:])
    return "".join(out)


def _path_str(parts: list) -> str:
    return ".".join(str(p) for p in parts)


def structured_changes(result: Result) -> list[dict]:
    """The data changes of each file, as DeepDiff sees them (before -> after). Only the parts an
    edit may change are compared (the verifier has checked that nothing else changed): DeepDiff
    on whole documents costs seconds and hundreds of megabytes on large files."""
    from deepdiff import DeepDiff  # imported only when a JSON report needs it

    out: list[dict] = []
    for fe in result.changed_edits:
        before = _network_view(fe.file.data, fe.touched_anchors)
        after = _network_view(result.reparsed[fe.file.path].data, fe.touched_anchors)
        diff = DeepDiff(before, after, view="tree")
        # DeepDiff keeps its findings in sets: they are listed in the order of their paths, so
        # that the report does not depend on the hash seed
        found = []
        for kind, levels in diff.items():
            for level in levels:
                path = level.path(output_format="list")
                entry: dict[str, Any] = {"file": display_path(fe.file.path), "path": _path_str(path), "change": _KINDS.get(kind, kind)}
                if level.t1 is not None and not _is_notpresent(level.t1):
                    entry["before"] = _jsonable(level.t1)
                if level.t2 is not None and not _is_notpresent(level.t2):
                    entry["after"] = _jsonable(level.t2)
                found.append(((_path_key(path), _KIND_ORDER.get(kind, len(_KIND_ORDER)), kind, repr(entry)), entry))
        found.sort(key=lambda item: item[0])
        out.extend(entry for _, entry in found)
    return out


def _network_keys(svc: Any) -> Any:
    return {k: v for k, v in svc.items() if k in NETWORK_KEYS} if isinstance(svc, dict) else svc


def _network_view(data: Any, anchors: set[str]) -> dict:
    """The top-level networks, the network keys of every service and the anchors the editor
    edited: everything an edit may change."""
    if not isinstance(data, dict):
        return {}
    view: dict[str, Any] = {k: data[k] for k in ("networks", *sorted(anchors)) if k in data}
    services = untag(data.get("services"))
    if isinstance(services, dict):
        view["services"] = {name: _network_keys(untag(svc)) for name, svc in services.items()}
    return view


def _path_key(parts: list) -> tuple:
    return tuple((0, p, "") if isinstance(p, int) and not isinstance(p, bool) else (1, 0, str(p)) for p in parts)


_KINDS = {
    "dictionary_item_added": "added",
    "iterable_item_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_removed": "removed",
    "values_changed": "changed",
    "type_changes": "changed",
}
_KIND_ORDER = {kind: i for i, kind in enumerate(_KINDS)}


def _is_notpresent(value: Any) -> bool:
    return type(value).__name__ == "NotPresent"


def _jsonable(value: Any) -> Any:
    import json

    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


def rule_severity(rule_id: str) -> str:
    from hardener.rules import get

    return get(rule_id).severity


def file_edits(result: Result) -> list[dict]:
    """Per file of the project: whether it changes, its unified diff, and the hardened text
    exactly as ``--write`` writes it (what ``--write -`` prints), so a bot needs one run."""
    edited = {fe.file.path: fe for fe in result.edits}
    out = []
    for cf in result.files:
        fe = edited.get(cf.path)
        changed = fe is not None and fe.changed
        out.append({
            "file": display_path(cf.path),
            "changed": changed,
            "diff": file_diff(fe) if changed else "",
            "hardened": cf.source.encode(fe.new_text).decode("utf-8") if changed else cf.source.raw.decode("utf-8"),
        })
    return out


# Group dependencies (one service reaching every service of a set) are listed pair by pair up to
# this many pairs in all; past it, as `dependency_groups`, so that 5,000 proxies that keep their
# reach to 5,000 services give a report of N + M entries, not N * M.
MAX_GROUP_PAIRS = 20_000


def _dependencies(a) -> dict[str, Any]:
    if sum(len(g.dsts) for g in a.groups) <= MAX_GROUP_PAIRS:
        return {"dependencies": [{"from": src, "to": dst, "kind": kind, "evidence": evidence}
                                 for src, dst, kind, evidence in a.pairs()]}
    direct = [{"from": d.src, "to": d.dst, "kind": d.kind, "evidence": d.evidence} for d in a.deps.values()]
    merged: dict[tuple, dict[str, Any]] = {}
    for g in a.groups:
        key = (id(g.dsts), g.kind, g.evidence)
        item = merged.get(key)
        if item is None:
            item = merged[key] = {"from": [], "to": list(g.dsts), "kind": g.kind, "evidence": g.evidence}
        item["from"].append(g.src)
    return {"dependencies": direct, "dependency_groups": list(merged.values())}


def json_report(results: list[Result], mode: str, exit_code: int) -> str:
    import json

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
            {"name": n, "tier": t.tier, "evidence": t.evidence, "image": t.image, "guessed": t.guessed}
            for n, t in plan.analysis.tiers.items()
        ]
        entry.update(_dependencies(plan.analysis))
        entry["changes"] = structured_changes(r) if r.changed_edits else []
        entry["findings"] = [dict(f.as_dict(), severity=rule_severity(f.rule)) for f in plan.findings]
        entry["edits"] = file_edits(r)
        files.append(entry)
    return json.dumps({"tool": "compose-harden", "version": __version__, "mode": mode, "exit_code": exit_code, "files": files}, indent=2)
