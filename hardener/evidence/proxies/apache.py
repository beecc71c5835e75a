"""Apache httpd: ``ProxyPass`` / ``ProxyPassReverse`` / ``BalancerMember`` URLs and
``SetHandler "proxy:fcgi://php:9000"``."""

from __future__ import annotations

import re

from hardener.evidence.hostnames import ascii_lower
from hardener.lazyre import LazyRe
from hardener.lines import line_counter

NAME = "apache"
BY_CONTENT = True  # detect() reads the text alone

_URL = LazyRe(r"""^\s*(?:ProxyPass(?:Match|Reverse)?|BalancerMember|SetHandler|ProxyRemote)\b[^\n]*?(?:[a-z]+:)?[a-z]+://([A-Za-z0-9_][\w.\-]*)""", re.M | re.I)
_COMMENT = LazyRe(r"^\s*#.*$", re.M)


_KEYWORDS = ("<virtualhost", "proxypass", "serverroot", "loadmodule", "documentroot")


def detect(path: str, text: str) -> bool:
    low = ascii_lower(text)  # the keywords first: a substring search is much cheaper than the pattern
    if low is not None and not any(k in low for k in _KEYWORDS):
        return False
    return bool(re.search(r"^\s*(?:<VirtualHost|ProxyPass|ServerRoot|LoadModule|DocumentRoot)\b", text, re.M | re.I))


def upstreams(text: str) -> list[tuple[str, int]]:
    text = _COMMENT.sub("", text)
    line = line_counter(text)
    return [(m.group(1), line(m.start())) for m in _URL.finditer(text)]
