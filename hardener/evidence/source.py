"""Hostnames in the source code of a service's build context: only code and the application's
own configuration, only host-shaped uses (see :mod:`hardener.evidence.hostnames`)."""

from __future__ import annotations

import os

from hardener.classify import build_context
from hardener.compose import Project
from hardener.evidence.environment import service_base
from hardener.evidence.hostnames import HostnameMatcher
from hardener.evidence.model import Analysis
from hardener.interpolate import interpolate
from hardener.scan import ContextScan, FileReader, scan_context
from hardener.show import clip

STATUS_WHY = {
    "missing": "its build context is not in the project",
    "empty": "its build context holds no source to read",
    "partial": "its build context is too large to read whole",
    "remote": "its build context is remote",
}


def collect(project: Project, a: Analysis, reader: FileReader, matcher: HostnameMatcher) -> dict[str, str]:
    """Dependencies from source; returns service -> why its source could not be read whole."""
    unread: dict[str, str] = {}
    searched: dict[int, tuple[ContextScan, list[tuple[str, str, str]]]] = {}
    for name, svc in project.services.items():
        ctx = build_context(svc.data)
        if ctx is None:
            continue
        scan = scan_context(reader, interpolate(ctx, project.env), service_base(project, name))
        # services sharing a build context share its scan: its files are searched once
        hit = searched.get(id(scan))
        if hit is not None and hit[0] is scan:
            found = hit[1]
        else:
            found = [(f"source {os.path.relpath(path, project.directory)} names '{clip(word)}'", word, dst)
                     for path, text in scan.files for word, dst in matcher.find(text, "source")]
            searched[id(scan)] = (scan, found)
        for evidence, word, dst in found:
            if dst != name:
                a.add(name, dst, evidence, "source", word)
        if scan.status != "scanned":
            unread[name] = STATUS_WHY[scan.status]
    return unread
