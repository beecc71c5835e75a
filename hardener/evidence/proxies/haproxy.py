"""HAProxy: the address of each ``server NAME ADDRESS[:PORT]`` line (the second word; the first
is only a label) and of ``server-template``."""

from __future__ import annotations

import os
import re

from hardener.lazyre import LazyRe
from hardener.lines import line_counter

NAME = "haproxy"

_COMMENT = LazyRe(r"(?:^|(?<=\s))#.*$", re.M)
_SERVER = LazyRe(r"^\s*server\s+\S+\s+(?:[a-z]+@)?([A-Za-z0-9_][\w.\-]*)(?=[:\s]|$)", re.M)
_TEMPLATE = LazyRe(r"^\s*server-template\s+\S+\s+\S+\s+([A-Za-z0-9_][\w.\-]*)(?=[:\s]|$)", re.M)


def detect(path: str, text: str) -> bool:
    base = os.path.basename(path).lower()
    if "haproxy" in base or base.endswith(".cfg"):
        return bool(re.search(r"^\s*(?:backend|frontend|listen|defaults)\b", text, re.M))
    return False


def upstreams(text: str) -> list[tuple[str, int]]:
    text = _COMMENT.sub("", text)
    line = line_counter(text)
    return [(m.group(1), line(m.start())) for rx in (_SERVER, _TEMPLATE) for m in rx.finditer(text)]
