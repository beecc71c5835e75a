"""Values from a compose file as a user reads them in messages: YAML-ish text, never Python
reprs, and cut to a readable length."""

from __future__ import annotations

from typing import Any

from hardener.yamlload import untag

MAX = 120


def clip(text: str, limit: int = MAX) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def flow(value: Any) -> str:
    """``{name: web, target: 80}``, ``[a, b]``, ``8080:80``."""
    value = untag(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if value is None:
        return "null"
    if value is True or value is False:
        return str(value).lower()
    return str(value)


NAMES_SHOWN = 5


def names(items, cap: int = NAMES_SHOWN, total: int | None = None) -> str:
    """``a, b, c`` -- at most ``cap`` of them, then how many more (of ``total``, when ``items``
    holds only the first ones)."""
    items = list(items)
    count = len(items) if total is None else total
    shown = ", ".join(str(i) for i in items[:cap])
    return shown + (f" (+{count - cap} more)" if count > cap else "")
