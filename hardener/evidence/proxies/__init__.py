"""Reverse-proxy configuration dialects: one module each, where that proxy's routes are read.

Every module has ``NAME`` (the dialect, as in the image table's family column for edge images),
``detect(path, text) -> bool`` (is this file of that dialect?) and ``upstreams(text) ->
list[tuple[str, int]]`` (the hosts it routes or connects to, with 1-based line numbers);
``BY_CONTENT = True`` says that ``detect`` reads the text alone, not the file's name. The
text has comments removed where the dialect has them only through :func:`strip_comments`,
which each module applies itself.
"""

from __future__ import annotations

from hardener.evidence.proxies import apache, caddy, cloudflared, envoy, haproxy, kong, nginx, traefik, varnish

DIALECTS = {m.NAME: m for m in (nginx, caddy, haproxy, traefik, envoy, kong, apache, varnish, cloudflared)}


def dialect_of(path: str, text: str, *other_paths: str) -> str | None:
    """The dialect a configuration file is written in, if it is a proxy's: judged by ``path``
    first, then by each of ``other_paths`` (the same text known by another name). A dialect whose
    module reads the text alone (``BY_CONTENT``) is asked once."""
    for i, p in enumerate((path, *other_paths)):
        for name, mod in DIALECTS.items():
            if i and getattr(mod, "BY_CONTENT", False):
                continue  # its answer does not depend on the path: it said no already
            if mod.detect(p, text):
                return name
    return None

