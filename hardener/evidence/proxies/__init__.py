"""Reverse-proxy configuration dialects: one module each, where that proxy's routes are read.

Every module has ``NAME`` (the dialect, as in the image table's family column for edge images),
``detect(path, text) -> bool`` (is this file of that dialect?) and ``upstreams(text) ->
list[tuple[str, int]]`` (the hosts it routes or connects to, with 1-based line numbers). The
text has comments removed where the dialect has them only through :func:`strip_comments`,
which each module applies itself.
"""

from __future__ import annotations

from hardener.evidence.proxies import apache, caddy, cloudflared, envoy, haproxy, kong, nginx, traefik, varnish

DIALECTS = {m.NAME: m for m in (nginx, caddy, haproxy, traefik, envoy, kong, apache, varnish, cloudflared)}


def dialect_of(path: str, text: str) -> str | None:
    """The dialect a configuration file is written in, if it is a proxy's."""
    for name, mod in DIALECTS.items():
        if mod.detect(path, text):
            return name
    return None


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1
