"""Varnish VCL: the ``.host`` of each ``backend``."""

from __future__ import annotations

import re

from hardener.lazyre import LazyRe
from hardener.lines import line_counter

NAME = "varnish"

_HOST = LazyRe(r"""\.host\s*=\s*"([A-Za-z0-9_][\w.\-]*)"\s*;""")
_COMMENT = LazyRe(r"(?://|#).*$", re.M)


def detect(path: str, text: str) -> bool:
    return path.lower().endswith(".vcl") or ("vcl" in text and bool(re.search(r"^\s*vcl\s+4", text, re.M)))


def upstreams(text: str) -> list[tuple[str, int]]:
    text = _COMMENT.sub("", text)
    line = line_counter(text)
    return [(m.group(1), line(m.start())) for m in _HOST.finditer(text)]
