"""nginx (and openresty, swag, nginx-proxy-manager's generated files): upstreams are named in
``*_pass`` directives, ``upstream { server ...; }`` blocks and URLs; ``server_name``, zones,
``resolver`` and paths are not hosts."""

from __future__ import annotations

import os
import re

from hardener.lazyre import LazyRe
from hardener.lines import line_counter

NAME = "nginx"

_HINT = LazyRe(r"^\s*(?:server\s*\{|location\s|(?:proxy|fastcgi|uwsgi|grpc)_pass\s|upstream\s+\S+\s*\{|http\s*\{|events\s*\{)", re.M)
_COMMENT = LazyRe(r"(?:^|(?<=\s))#.*$", re.M)
_HOSTS = LazyRe(
    r"\b(?:proxy|fastcgi|uwsgi|scgi|grpc|memcached)_pass\s+(?:[a-z]+://)?([A-Za-z0-9_][\w.\-]*?)(?=[:;/\s]|$)"
    r"|(?:^|[{;])\s*server\s+(?:unix:\S+|([A-Za-z0-9_][\w.\-]*?))(?=[:;\s])"
    r"|://([A-Za-z0-9_][\w.\-]*?)(?=[:/;\s\"']|$)",
    re.M,
)


def detect(path: str, text: str) -> bool:
    base = os.path.basename(path).lower()
    if not (base.endswith((".conf", ".template", ".inc", ".nginx")) or "nginx" in base or base in ("default", "site")):
        return False
    return bool(_HINT.search(text))


def upstreams(text: str) -> list[tuple[str, int]]:
    text = _COMMENT.sub("", text)
    line = line_counter(text)
    out = []
    for m in _HOSTS.finditer(text):
        host = m.group(m.lastindex or 1)
        if host:
            out.append((host, line(m.start())))
    return out
