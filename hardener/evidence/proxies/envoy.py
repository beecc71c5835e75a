"""Envoy: the ``address`` of each ``socket_address`` in its clusters (listeners bind 0.0.0.0)."""

from __future__ import annotations

import os
import re

from hardener.lazyre import LazyRe
from hardener.lines import line_counter

NAME = "envoy"

_ADDRESS = LazyRe(r"""\baddress\s*:\s*["']?([A-Za-z0-9_${}][\w.\-${}]*)["']?\s*(?:,|$|\n|})""", re.M)
_COMMENT = LazyRe(r"(?:^|(?<=\s))#.*$", re.M)


def detect(path: str, text: str) -> bool:
    base = os.path.basename(path).lower()
    if not base.endswith((".yml", ".yaml", ".json")):
        return False
    return "static_resources" in text or ("clusters" in text and "socket_address" in text)


def upstreams(text: str) -> list[tuple[str, int]]:
    text = _COMMENT.sub("", text)
    line = line_counter(text)
    out = []
    for m in _ADDRESS.finditer(text):
        host = m.group(1)
        if host in ("0.0.0.0", "::", "127.0.0.1", "localhost"):
            continue
        out.append((host, line(m.start())))
    return out
