"""cloudflared: the ``service:`` URL of each ``ingress`` rule of a locally managed tunnel
(``config.yml``). A tunnel run with a token has its routes in Cloudflare's dashboard instead:
then nothing here is read and its routing is unknown."""

from __future__ import annotations

import re

from hardener.lazyre import LazyRe
from hardener.lines import line_counter

NAME = "cloudflared"
BY_CONTENT = True  # detect() reads the text alone

_SERVICE = LazyRe(r"""^\s*-?\s*service\s*:\s*["']?[a-z]+://([A-Za-z0-9_][\w.\-]*)""", re.M)
_COMMENT = LazyRe(r"(?:^|(?<=\s))#.*$", re.M)


def detect(path: str, text: str) -> bool:
    if "ingress" not in text:
        return False
    return bool(re.search(r"^\s*ingress\s*:", text, re.M)) and bool(re.search(r"^\s*(?:tunnel|credentials-file)\s*:", text, re.M))


def upstreams(text: str) -> list[tuple[str, int]]:
    text = _COMMENT.sub("", text)
    line = line_counter(text)
    return [(m.group(1), line(m.start())) for m in _SERVICE.finditer(text)]
