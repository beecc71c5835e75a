"""Decide each service's tier (edge, app, data) and record the evidence that decided it.

Order of evidence: the service's own ``x-compose-harden: {tier: ...}``; the image (repository name
looked up in the image table, interpolation defaults resolved); container ports (ports table);
published ports 80/443 (edge); the service name or build-context folder name (names table); app.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from hardener import knowledge, ports
from hardener.compose import Service, untag
from hardener.interpolate import interpolate
from hardener.knowledge import ImageInfo, Port

EDGE_PUBLISHED = {80, 443}


@dataclass
class Tier:
    tier: str
    evidence: str
    image: str | None = None  # the image reference with interpolation resolved
    info: ImageInfo | None = None
    family: str | None = None
    flags: frozenset[str] = field(default_factory=frozenset)
    guessed: bool = False  # decided by names or by default, not by the image table

    @property
    def default_ports(self) -> tuple[Port, ...]:
        return self.info.ports if self.info else ()


def service_options(data: dict) -> dict:
    """The service's ``x-compose-harden`` block (tier, talks-to, egress, allow, reason)."""
    opts = untag(data.get("x-compose-harden"))
    return opts if isinstance(opts, dict) else {}


def image_of(data: dict, env: dict[str, str]) -> str | None:
    image = untag(data.get("image"))
    if isinstance(image, str) and image.strip():
        return interpolate(image, env).strip() or None
    return None


def build_context(data: dict) -> str | None:
    build = untag(data.get("build"))
    if isinstance(build, str):
        return build
    if isinstance(build, dict):
        ctx = untag(build.get("context"))
        return ctx if isinstance(ctx, str) else "."
    return None


def container_ports(data: dict) -> list[Port]:
    out: list[Port] = []
    for p in ports.specs(data.get("ports")):
        if p.target:
            out.append(Port(p.target, p.protocol))
    for e in untag(data.get("expose")) or []:
        e = untag(e)
        s = ports.parse(str(e)) if e is not None else None
        if s and s.target:
            out.append(Port(s.target, s.protocol))
    return out


def published_numbers(data: dict) -> set[int]:
    out = set()
    for p in ports.specs(data.get("ports")):
        if p.published:
            host = p.published.rsplit(":", 1)[-1]
            if host.isdigit():
                out.add(int(host))
    return out


def classify(service: Service, env: dict[str, str]) -> Tier:
    data = service.data
    opts = service_options(data)
    image = image_of(data, env)
    info, how = knowledge.lookup_image(image) if image else (None, "")
    flags = info.flags if info else frozenset()
    family = info.family if info else None

    forced = opts.get("tier")
    if forced in knowledge.TIERS:
        return Tier(forced, "x-compose-harden tier", image, info, family, flags)
    if info is not None:
        what = f"image {image}" if " " not in how else f"image {image}: {how}"
        return Tier(info.tier, what, image, info, family, flags)
    port_table = knowledge.ports()
    for port in container_ports(data):
        pinfo = port_table.get(port)
        if pinfo and pinfo.tier == "data":
            return Tier("data", f"container port {port} ({pinfo.note})", image, None, pinfo.family, flags)
    published = published_numbers(data) & EDGE_PUBLISHED
    if published:
        return Tier("edge", f"publishes port {min(published)}", image, None, None, flags)
    candidates: list[tuple[str, str]] = [(service.name, f"service name '{service.name}'")]
    ctx = build_context(data)
    if ctx and "://" not in ctx:
        base = os.path.basename(os.path.normpath(ctx))
        if base and base not in (".", ".."):
            candidates.append((base, f"build context '{ctx}'"))
    for name, label in candidates:
        hit = knowledge.lookup_name(name)
        if hit:
            tier, fam, word = hit
            return Tier(tier, label if word == name.lower() else f"{label} (word '{word}')", image, None, fam, flags, guessed=True)
    if image:
        what = f"image {image} not in the image table"
    elif ctx is not None:
        what = f"built from {ctx}"
    else:
        what = "no image"
    return Tier("app", f"{what}; no data-store or proxy evidence", image, None, None, flags, guessed=True)


def classify_all(services: dict[str, Service], env: dict[str, str]) -> dict[str, Tier]:
    return {name: classify(svc, env) for name, svc in services.items()}

