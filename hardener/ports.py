"""Compose port specifications (short and long syntax) as structured values."""

from __future__ import annotations

import re
from typing import Any

from hardener.compose import untag
from hardener.record import record


@record(frozen=True)
class PortSpec:
    """One entry of a service's ``ports`` (short or long syntax), parsed."""

    target: int | None  # container port (first of a range)
    published: str | None  # host side as written ("8080", "127.0.0.1:8080", "8000-8010"), None if not published
    protocol: str = "tcp"
    raw: Any = None
    target_last: int | None = None  # last container port of a range

    def host_numbers(self) -> range:
        """Host ports it publishes (empty when the host port is ephemeral or not a number)."""
        host = (self.published or "").rsplit(":", 1)[-1]
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", host)
        if not m:
            return range(0)
        first = int(m.group(1))
        return range(first, int(m.group(2) or first) + 1)


def parse(spec: Any) -> PortSpec | None:
    spec = untag(spec)
    if isinstance(spec, dict):
        target = spec.get("target")
        pub = spec.get("published")
        proto = str(spec.get("protocol") or "tcp").lower()
        t = _first_int(target)
        p = None if pub in (None, "") else str(pub)
        if p and spec.get("host_ip"):
            p = f"{spec['host_ip']}:{p}"
        return PortSpec(t, p, proto, spec)
    if isinstance(spec, int):
        return PortSpec(spec, None, "tcp", spec)
    if not isinstance(spec, str):
        return None
    text = spec.strip()
    proto = "tcp"
    if "/" in text:
        text, proto = text.rsplit("/", 1)
        proto = proto.lower()
    parts = text.rsplit(":", 1)
    if len(parts) == 1:
        return PortSpec(_first_int(parts[0]), None, proto, spec, _last_int(parts[0]))
    host, target = parts
    return PortSpec(_first_int(target), host or None, proto, spec, _last_int(target))


def _first_int(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        m = re.match(r"\s*(\d+)", value)
        if m:
            return int(m.group(1))
    return None


def _last_int(value: str) -> int | None:
    m = re.fullmatch(r"\s*\d+-(\d+)\s*", value)
    return int(m.group(1)) if m else None


def specs(value: Any) -> list[PortSpec]:
    value = untag(value)
    if not isinstance(value, list):
        return []
    return [p for p in (parse(v) for v in value) if p is not None]


def publishes(service: dict) -> bool:
    """Does the service publish any port? An entry without a host port ("6379", or the long
    syntax without ``published``) is published on an ephemeral host port, so it counts."""
    return bool(specs(service.get("ports")))
