"""Kong's declarative configuration (``kong.yml`` with ``_format_version``): each service's
``url`` or ``host``, and upstream ``targets``."""

from __future__ import annotations

import re

from hardener.lazyre import LazyRe
from hardener.lines import line_counter

NAME = "kong"
BY_CONTENT = True  # detect() reads the text alone

_URL = LazyRe(r"""\burl\s*:\s*["']?[a-z]+://([A-Za-z0-9_$][\w.\-${}]*)""", re.I)
_HOST = LazyRe(r"""^\s*-?\s*(?:host|target)\s*:\s*["']?([A-Za-z0-9_$][\w.\-${}]*)""", re.M)
_COMMENT = LazyRe(r"(?:^|(?<=\s))#.*$", re.M)


def detect(path: str, text: str) -> bool:
    return "_format_version" in text


def upstreams(text: str) -> list[tuple[str, int]]:
    text = _COMMENT.sub("", text)
    line = line_counter(text)
    return [(m.group(1), line(m.start())) for rx in (_URL, _HOST) for m in rx.finditer(text)]
