"""``--format sarif``: a SARIF 2.1.0 log for code scanning.

* ``tool.driver.rules``: every rule of the registry, with its documentation as help text and a
  help URI to its section of the README.
* one result per finding, located at the service's key in the file (or the key the rule points
  at: ``network_mode``, ``ports``...); findings about networks point at the top-level
  ``networks``.
* ``fixes``: what ``--write`` would do, as replacements of the original text (the editor's own
  splices). Each service's changes are one fix, on the first fixed finding of that service; the
  changes outside services (the top-level networks the services join) go with the last fixed
  finding of the project, so that the fixes applied in order give exactly what ``--write``
  writes. After ``--write`` the fixed findings are done and not reported; the others point into
  the written file.
* ``partialFingerprints``: rule + file + service (or network), never line numbers, so an alert
  follows its service when lines move.
* acknowledged findings carry a ``suppressions`` entry (``inSource`` for ``x-compose-harden``,
  ``external`` for the configuration) with the reason as justification.
* files that could not be processed are ``toolExecutionNotifications`` of the invocation.

Positions are 1-based lines and columns counted in Unicode code points (``columnKind``).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from hardener import __version__
from hardener.compose import ComposeFile, find_key
from hardener.errors import HardenError
from hardener.lazyre import LazyRe
from hardener.pipeline import Result
from hardener.plan import Finding
from hardener.rules import Rule, registry
from hardener.textedit import Lines, Splice, content_end

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
BASE = "%SRCROOT%"
FINGERPRINT = "composeHarden/v1"
SECURITY_SEVERITY = {"error": "7.5", "warning": "5.0", "note": "2.0"}
_NETWORK = LazyRe(r"\bnetwork (\S+)")


def sarif_report(results: list[Result], mode: str, exit_code: int) -> str:
    rules = list(registry().values())
    index = {r.id: i for i, r in enumerate(rules)}
    cwd = os.getcwd()
    out_results: list[dict] = []
    notifications: list[dict] = []
    for r in results:
        if r.error is not None:
            notifications.append(_notification(r.error, cwd))
        elif r.plan is not None:
            out_results.extend(_ProjectLog(r, mode, cwd, index).results())
    invocation: dict[str, Any] = {"executionSuccessful": True, "exitCode": exit_code}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run = {
        "tool": {"driver": _driver(rules)},
        "invocations": [invocation],
        "originalUriBaseIds": {BASE: {"uri": Path(cwd).as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": out_results,
    }
    return json.dumps({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}, indent=2)


def _driver(rules: list[Rule]) -> dict:
    from hardener.rules import DOCS_URL

    return {
        "name": "compose-harden",
        "semanticVersion": __version__,
        "version": __version__,
        "informationUri": DOCS_URL,
        "rules": [
            {
                "id": r.id,
                "name": "".join(w.capitalize() for w in r.id.split("-")),
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.summary},
                "help": {"text": r.doc, "markdown": r.doc_markdown},
                "helpUri": r.help_uri,
                "defaultConfiguration": {"level": r.severity},
                "properties": {
                    "tags": ["security", "docker-compose", "network"],
                    "fix": r.fix,
                    "security-severity": SECURITY_SEVERITY[r.severity],
                },
            }
            for r in rules
        ],
    }


def artifact(path: str, cwd: str) -> dict:
    if path == "-":
        return {"uri": "stdin", "description": {"text": "standard input"}}
    full = os.path.abspath(path)
    rel = os.path.relpath(full, cwd)
    if rel.startswith(".."):
        return {"uri": Path(full).as_uri()}
    return {"uri": quote(rel.replace(os.sep, "/")), "uriBaseId": BASE}


def region(text: str, lines: Lines, start: int, end: int) -> dict:
    """A region from character offsets (line breaks: the editor's line model)."""
    def pos(offset: int) -> tuple[int, int]:
        if offset >= len(text) and text.endswith("\n"):
            return len(lines) + 1, 1  # after the final line break: the empty last line
        line = lines.line_of(offset)
        return line + 1, offset - lines.start(line) + 1

    sl, sc = pos(start)
    el, ec = pos(end)
    return {"startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec}


def _notification(error: HardenError, cwd: str) -> dict:
    note: dict[str, Any] = {"level": "error", "message": {"text": error.message}, "descriptor": {"id": "input"}}
    loc: dict[str, Any] = {"artifactLocation": artifact(error.path, cwd)}
    if error.line is not None:
        loc["region"] = {"startLine": error.line, **({"startColumn": error.column} if error.column else {})}
    note["locations"] = [{"physicalLocation": loc}]
    return note


class _ProjectLog:
    def __init__(self, result: Result, mode: str, cwd: str, index: dict[str, int]):
        self.r = result
        self.plan = result.plan
        self.mode = mode
        self.cwd = cwd
        self.index = index
        self.by_path = {cf.path: cf for cf in result.files}
        self._lines: dict[int, Lines] = {}
        self._tops: dict[int, Node | None] = {}

    def file(self, path: str) -> ComposeFile:
        """The file positions refer to: after --write, the written one."""
        if self.mode == "write" and path in self.r.reparsed:
            return self.r.reparsed[path]
        return self.by_path[path]

    def lines(self, cf: ComposeFile) -> Lines:
        got = self._lines.get(id(cf))
        if got is None:
            got = self._lines[id(cf)] = Lines(cf.source.text)
        return got

    # --- locations ---------------------------------------------------------------------------
    def location(self, f: Finding) -> dict:
        cf, node = self.anchor(f)
        loc: dict[str, Any] = {"artifactLocation": artifact(cf.path, self.cwd)}
        if node is not None:
            loc["region"] = region(cf.source.text, self.lines(cf), node.start_mark.index, node.end_mark.index)
        return {"physicalLocation": loc}

    def anchor(self, f: Finding) -> tuple[ComposeFile, Node | None]:
        rule = registry().get(f.rule)
        svc = self.plan.project.services.get(f.service) if f.service else None
        if svc is not None and svc.defs:
            places = [(self.file(d.file.path), f.service) for d in svc.defs]
            if rule is not None and rule.key:
                for cf, name in places:
                    where = cf.service_keys().own.get(name)
                    loc = find_key(where.value, rule.key) if where is not None else None
                    if loc is not None:
                        return cf, loc.key
            for cf, name in places:
                where = cf.service_keys().own.get(name)
                if where is not None:
                    return cf, where.key
        cf = self.file(self.r.files[0].path)
        if id(cf) not in self._tops:
            locs = (find_key(cf.root, top) for top in ("networks", "services"))
            self._tops[id(cf)] = next((loc.key for loc in locs if loc is not None), None)
        return cf, self._tops[id(cf)]

    # --- fixes -------------------------------------------------------------------------------
    def changes(self) -> tuple[dict[str, list[tuple[ComposeFile, list[Splice]]]], list[tuple[ComposeFile, list[Splice]]]]:
        """Splices of each service (per file), and those outside every service."""
        per_service: dict[str, dict[str, list[Splice]]] = {}
        outside: dict[str, list[Splice]] = {}
        files: dict[str, ComposeFile] = {}
        for fe in self.r.changed_edits:
            cf = fe.file
            files[cf.path] = cf
            spans = service_spans(cf)
            for sp in fe.splices:
                owner = owner_of(sp, spans)
                bucket = per_service.setdefault(owner, {}) if owner else outside
                bucket.setdefault(cf.path, []).append(sp)
        svc = {name: [(files[p], sps) for p, sps in byfile.items()] for name, byfile in per_service.items()}
        return svc, [(files[p], sps) for p, sps in outside.items()]

    def fix(self, parts: list[tuple[ComposeFile, list[Splice]]], what: str) -> dict:
        merged: dict[str, tuple[ComposeFile, list[Splice]]] = {}
        for cf, sps in parts:
            merged.setdefault(cf.path, (cf, []))[1].extend(sps)
        changes = []
        for path in sorted(merged, key=lambda p: [c.path for c in self.r.files].index(p)):
            cf, sps = merged[path]
            changes.append({"artifactLocation": artifact(cf.path, self.cwd), "replacements": self.replacements(cf, sps)})
        return {"description": {"text": what}, "artifactChanges": changes}

    def replacements(self, cf: ComposeFile, splices: list[Splice]) -> list[dict]:
        text = cf.source.text
        lines = self.lines(cf)
        ordered = sorted(splices, key=lambda s: (s.start, s.end, s.rank, s.order))
        groups: list[list[Splice]] = []
        for sp in ordered:  # insertions at one point become one replacement, in the order applied
            if groups and sp.start == sp.end == groups[-1][-1].start == groups[-1][-1].end:
                groups[-1].append(sp)
            else:
                groups.append([sp])
        out = []
        for g in groups:
            new = "".join(s.text for s in g)
            if cf.source.cr_only:
                new = new.replace("\n", "\r")
            rep: dict[str, Any] = {"deletedRegion": region(text, lines, g[0].start, g[-1].end)}
            if new:
                rep["insertedContent"] = {"text": new}
            out.append(rep)
        return out

    # --- results -----------------------------------------------------------------------------
    def results(self) -> list[dict]:
        findings = [f for f in self.plan.findings if not (self.mode == "write" and f.fixed)]
        per_service, outside = ({}, []) if self.mode == "write" else self.changes()
        # changes of services that no fixed finding is about go with the project-wide changes
        fixed_services = {f.service for f in findings if f.fixed and f.service}
        for name in [n for n in per_service if n not in fixed_services]:
            outside.extend(per_service.pop(name))
        carrier = next((i for i in range(len(findings) - 1, -1, -1) if findings[i].fixed), None)
        if carrier is None and outside and findings:
            carrier = len(findings) - 1
        seen: Counter = Counter()
        done: set[str] = set()
        out = []
        for i, f in enumerate(findings):
            rule = registry()[f.rule]
            loc = self.location(f)
            uri = loc["physicalLocation"]["artifactLocation"]["uri"]
            subject = f.service or _subject(f)
            key = (f.rule, uri, subject)
            seen[key] += 1
            digest = hashlib.sha256("\0".join((*key, str(seen[key]))).encode("utf-8")).hexdigest()[:32]
            res: dict[str, Any] = {
                "ruleId": f.rule,
                "ruleIndex": self.index[f.rule],
                "level": rule.severity,
                "message": {"text": f"{f.service}: {f.message}" if f.service else f.message},
                "locations": [loc],
                "partialFingerprints": {FINGERPRINT: digest},
                "properties": {"service": f.service, "fixed": f.fixed},
            }
            parts: list[tuple[ComposeFile, list[Splice]]] = []
            what = []
            if f.fixed and f.service in per_service and f.service not in done:
                done.add(f.service)
                parts += per_service[f.service]
                what.append(f"the networks of {f.service}")
            if i == carrier and outside:
                parts += outside
                what.append("the top-level networks and other shared changes")
            if parts:
                res["fixes"] = [self.fix(parts, "compose-harden --write: " + " and ".join(what))]
            if f.acknowledged is not None:
                res["suppressions"] = [{
                    "kind": "inSource" if f.acknowledged.in_source else "external",
                    "status": "accepted",
                    "justification": f.acknowledged.reason,
                }]
            out.append(res)
        return out


def _subject(f: Finding) -> str:
    m = _NETWORK.search(f.message)
    return f"network {m.group(1)}" if m else ""


def service_spans(cf: ComposeFile) -> tuple[list[tuple[int, str]], int]:
    """(key start offset, service name) of the services, in file order, and where the services
    mapping ends."""
    services = cf.top_value_node("services")
    if not isinstance(services, MappingNode):
        return [], -1
    spans = sorted((k.start_mark.index, str(k.value)) for k, _ in services.value if isinstance(k, ScalarNode))
    text = cf.source.text
    end = content_end(services, text)
    nl = text.find("\n", end)  # the last service's lines are inserted after its last line break
    return spans, nl + 1 if nl >= 0 else len(text)


def owner_of(sp: Splice, spans: tuple[list[tuple[int, str]], int]) -> str | None:
    """The service whose lines hold the splice (the last one starting at or before it)."""
    starts, end = spans
    if sp.rank >= 2 or not starts or sp.start < starts[0][0] or sp.start > end:
        return None
    return starts[bisect.bisect_right(starts, sp.start, key=_offset) - 1][1]


def _offset(span: tuple[int, str]) -> int:
    return span[0]
