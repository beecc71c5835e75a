"""``--compare``: the project as it is, and as compose-harden proposes it, probed one after the other.

The proposal is made by the project's own pipeline on a temporary copy of the project folder (the
user's files are never written), then both are compared: which connections the hardening removed,
whether any dependency compose-harden itself found was lost, who lost or gained a way out, which
published ports stopped answering.
"""

from __future__ import annotations

import json
import os
import shutil

from hardener.probe.engine import ProbeError

SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "__pycache__"})
MAX_FILE = 4 * 1024 * 1024  # larger files become empty placeholders: Compose only checks they exist
MAX_FILES = 20000


def copy_project(directory: str, dest: str) -> None:
    """A copy of the project folder made of regular files only (links are followed into the copy,
    so that writing the copy can never write through a link to the user's files)."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not os.path.islink(os.path.join(dirpath, d)))
        rel = os.path.relpath(dirpath, directory)
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for name in filenames:
            src = os.path.join(dirpath, name)
            if not os.path.isfile(src):
                continue  # pipes, sockets, dangling links
            count += 1
            if count > MAX_FILES:
                raise ProbeError(f"--compare: more than {MAX_FILES} files under {directory} to copy")
            target = os.path.join(dest, rel, name)
            if os.path.getsize(src) > MAX_FILE:
                open(target, "wb").close()
            else:
                shutil.copyfile(src, target)


def harden_copy(files: list[str], directory: str, dest: str) -> tuple[list[str], dict]:
    """Copy the project to ``dest``, apply compose-harden's fixes there; returns the copy's files
    and compose-harden's report of it (services, dependencies, changes, findings)."""
    from hardener.pipeline import harden_paths
    from hardener.report import json_report
    from hardener.writer import write_files
    from hardener.errors import HardenError

    rels = []
    for f in files:
        rel = os.path.relpath(f, directory)
        if rel.startswith(".."):
            raise ProbeError(f"--compare: {f} is outside the project folder {directory}")
        rels.append(rel)
    copy_project(directory, dest)
    copies = [os.path.join(dest, r) for r in rels]
    result = harden_paths(copies)
    if result.error is not None:
        raise ProbeError(f"compose-harden cannot harden the project: {result.error.message}")
    try:
        write_files([(fe.file.source, fe.file.source.encode(fe.new_text)) for fe in result.changed_edits])
    except HardenError as exc:
        raise ProbeError(f"cannot write the hardened copy: {exc.message}") from None
    status = 1 if result.changed_edits or result.open_findings else 0
    report = json.loads(json_report([result], "write", status))["files"][0]
    for change in report.get("changes", []):
        change["file"] = os.path.relpath(change["file"], dest)
    report["path"] = " + ".join(files)
    report["files"] = list(files)
    return copies, report


def _edges(result: dict) -> set[tuple[str, str]]:
    return {(a, b) for a, row in (result.get("matrix") or {}).items() if row for b, ok in row.items() if ok}


def _owner(result: dict, service: str) -> str:
    mode = ((result.get("services") or {}).get(service) or {}).get("network_mode", "")
    return mode[len("service:"):] if mode.startswith("service:") else service


def _reaches(result: dict, src: str, dst: str) -> bool | None:
    row = (result.get("matrix") or {}).get(src)
    if row is None:
        return None
    target = _owner(result, dst)
    if target == src or _owner(result, src) == target:
        return True  # one network namespace
    return bool(row.get(target))


def compare(before: dict, after: dict, report: dict | None) -> dict:
    """What changed between two probes of the same project; with compose-harden's report, whether
    every dependency it found still connects."""
    eb, ea = _edges(before), _edges(after)
    out: dict = {
        "connections": {"before": len(eb), "after": len(ea),
                        "removed": [f"{a} -> {b}" for a, b in sorted(eb - ea)],
                        "added": [f"{a} -> {b}" for a, b in sorted(ea - eb)]},
    }
    for key in ("egress", "dns_egress", "host"):
        b, a = before.get(key) or {}, after.get(key) or {}
        out[key] = {"lost": sorted(s for s in b if b[s] and a.get(s) is False),
                    "gained": sorted(s for s in a if a[s] and b.get(s) is False)}
    pb, pa = before.get("published") or {}, after.get("published") or {}
    out["published"] = {
        "lost": sorted(f"{s} {k}" for s, ports in pb.items() for k, v in ports.items() if v and (pa.get(s) or {}).get(k) != v),
        "answering": sorted(f"{s} {k}" for s, ports in pa.items() for k, v in ports.items() if v == s),
        "silent": sorted(f"{s} {k}" for s, ports in pa.items() for k, v in ports.items() if v != s),
    }
    if report is not None:
        deps = []
        for d in report.get("dependencies") or []:
            src, dst = d["from"], d["to"]
            deps.append({"from": src, "to": dst, "kind": d.get("kind"),
                         "before": _reaches(before, src, dst), "after": _reaches(after, src, dst)})
        out["dependencies"] = deps
        out["dependencies_lost"] = [f"{d['from']} -> {d['to']}" for d in deps if d["before"] and not d["after"]]
        out["dependencies_unreachable"] = [f"{d['from']} -> {d['to']}" for d in deps if not d["after"]]
    return out
