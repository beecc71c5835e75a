"""Compose port specifications (short and long syntax) as structured values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hardener.compose import untag


@dataclass(frozen=True)
class PortSpec:
    target: int | None  # container port (first of a range)
    published: str | None  # host side as written ("8080", "127.0.0.1:8080", "8000-8010"), None if not published
    protocol: str = "tcp"
    raw: Any = None

    @property
    def host_ip(self) -> str | None:
        if self.published and ":" in self.published:
            return self.published.rsplit(":", 1)[0]
        return None


_SHORT = re.compile(r"^(?:(?P<ip>\[[^\]]*\]|[^:\[\]]*):)??(?:(?P<pub>[\d${}A-Za-z_:\-]*):)?(?P<target>[\d$][^/]*)(?:/(?P<proto>\w+))?$")


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
        return PortSpec(_first_int(parts[0]), None, proto, spec)
    host, target = parts
    return PortSpec(_first_int(target), host or None, proto, spec)


def _first_int(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        m = re.match(r"\s*(\d+)", value)
        if m:
            return int(m.group(1))
    return None


def specs(value: Any) -> list[PortSpec]:
    value = untag(value)
    if not isinstance(value, list):
        return []
    return [p for p in (parse(v) for v in value) if p is not None]


def publishes(service: dict) -> bool:
    """Does the service publish any port? An entry without a host port ("6379", or the long
    syntax without ``published``) is published on an ephemeral host port, so it counts."""
    return bool(specs(service.get("ports")))
