"""Caddy: a Caddyfile's ``reverse_proxy`` / ``php_fastcgi`` upstreams (also ``to`` inside a
``reverse_proxy`` block, and URLs), and the ``dial`` addresses of Caddy's JSON config."""

from __future__ import annotations

import os
import re

from hardener.lazyre import LazyRe
from hardener.lines import line_counter

NAME = "caddy"

_HINT = LazyRe(r"^\s*(?:reverse_proxy|php_fastcgi|file_server|encode|respond|redir|handle(?:_path)?|root)\b", re.M)
_COMMENT = LazyRe(r"(?:^|(?<=\s))#.*$", re.M)
_DIRECTIVE = LazyRe(r"^\s*(?:reverse_proxy|php_fastcgi|to)\b([^{\n]*)", re.M)
_DIAL = LazyRe(r'"dial"\s*:\s*"([A-Za-z0-9_][\w.\-]*):')
_ADDR = LazyRe(r"(?:^|\s)(?:[a-z+]+://)?([A-Za-z0-9_][\w.\-]*)(?::\d+|(?=\s|$))")


def detect(path: str, text: str) -> bool:
    base = os.path.basename(path).lower()
    if base.startswith("caddyfile") or base.endswith(".caddyfile") or base.endswith(".caddy"):
        return True
    if base.endswith(".json") and '"dial"' in text and '"handler"' in text:
        return True
    return False


def upstreams(text: str) -> list[tuple[str, int]]:
    if text.lstrip().startswith("{") and '"dial"' in text:
        line_at = line_counter(text)
        return [(m.group(1), line_at(m.start())) for m in _DIAL.finditer(text)]
    text = _COMMENT.sub("", text)
    line_at = line_counter(text)
    out = []
    for m in _DIRECTIVE.finditer(text):
        line = line_at(m.start())
        for word in m.group(1).split():
            if word.startswith(("@", "/", "*")):
                continue  # a matcher or a path
            a = _ADDR.match(" " + word)
            if a:
                out.append((a.group(1), line))
    return out
