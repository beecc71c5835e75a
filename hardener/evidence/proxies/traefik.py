"""Traefik's dynamic configuration (file provider, YAML or TOML): the ``url`` of each load
balancer server. Routes from Docker labels are read by the discovery evidence; the static
configuration (command flags or ``traefik.yml``) says which providers are on, see
:func:`providers`."""

from __future__ import annotations

import os
import re

from hardener.lazyre import LazyRe
from hardener.lines import line_counter

NAME = "traefik"

_URL = LazyRe(r"""\burl\s*[:=]\s*["']?[a-z]+://([A-Za-z0-9_][\w.\-]*)""", re.I)
_ADDRESS = LazyRe(r"""\baddress\s*[:=]\s*["']?([A-Za-z0-9_][\w.\-]*):\d""", re.I)
_COMMENT = LazyRe(r"(?:^|(?<=\s))#.*$", re.M)


def detect(path: str, text: str) -> bool:
    base = os.path.basename(path).lower()
    if not base.endswith((".yml", ".yaml", ".toml")):
        return False
    if not any(k in text for k in ("loadBalancer", "routers", "entryPoints", "providers")):
        return False  # the words first: a substring search is much cheaper than the pattern
    return bool(re.search(r"\b(?:loadBalancer|routers|entryPoints|providers)\b", text))


def upstreams(text: str) -> list[tuple[str, int]]:
    text = _COMMENT.sub("", text)
    line = line_counter(text)
    return [(m.group(1), line(m.start())) for rx in (_URL, _ADDRESS) for m in rx.finditer(text)]


def providers(texts: list[str]) -> dict[str, list[str]]:
    """Providers switched on in static configuration texts (flags, traefik.yml/toml):
    {"docker": [], "file": [paths...], other: []}."""
    out: dict[str, list[str]] = {}
    for text in texts:
        for m in re.finditer(r"--providers\.(\w+)(?:\.(directory|filename))?(?:[= ](\S+))?", text):
            kind = m.group(1)
            out.setdefault(kind, [])
            if m.group(2) and m.group(3):
                out[kind].append(m.group(3).strip("\"'"))
        for m in re.finditer(r"TRAEFIK_PROVIDERS_(\w+?)(?:_(DIRECTORY|FILENAME))?\s*[=:]\s*(\S+)", text):
            kind = m.group(1).lower()
            out.setdefault(kind, [])
            if m.group(2):
                out[kind].append(m.group(3).strip("\"'"))
        block = re.search(r"^providers\s*:\s*\n((?:[ \t]+.*\n?)+)", text, re.M)
        if block:
            for p in re.finditer(r"^[ \t]{1,4}(\w+)\s*:", block.group(1), re.M):
                out.setdefault(p.group(1), [])
            for p in re.finditer(r"\b(?:directory|filename)\s*:\s*[\"']?([^\s\"']+)", block.group(1)):
                out.setdefault("file", []).append(p.group(1))
        for p in re.finditer(r"^\[providers\.(\w+)\]", text, re.M):
            out.setdefault(p.group(1), [])
    return out
