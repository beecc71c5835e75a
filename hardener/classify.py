"""Decide each service's tier (edge, app, data) and record the evidence that decided it.

Order of evidence: the service's own ``x-compose-harden: {tier: ...}``; the project
configuration's ``tiers`` patterns for the team's own images; the image (repository name
looked up in the image table, interpolation defaults resolved); container ports (ports table);
published ports 80/443 (edge); the service name or build-context folder name (names table); app.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from hardener import knowledge, ports
from hardener.compose import Service, untag
from hardener.config import Settings
from hardener.interpolate import interpolate
from hardener.knowledge import ImageInfo, Port
from hardener.record import field, record

if TYPE_CHECKING:
    from hardener.scan import FileReader

EDGE_PUBLISHED = {80, 443}


@record
class Tier:
    """A service's tier (edge, app, data) and the evidence that decided it."""

    tier: str
    evidence: str
    image: str | None = None  # the image reference with interpolation resolved
    info: ImageInfo | None = None
    family: str | None = None
    flags: frozenset[str] = field(default_factory=frozenset)
    guessed: bool = False  # decided by a word of a name, ports or by default, not by the image table
    forced: bool = False  # x-compose-harden: {tier: ...}

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


def dockerfile_image(service: Service, reader: "FileReader", env: dict[str, str]) -> str | None:
    """The image the last stage of a service's Dockerfile is built FROM (None when unreadable or
    when it is built FROM an earlier stage only)."""
    build = untag(service.data.get("build"))
    ctx = build_context(service.data)
    if ctx is None or "://" in ctx:
        return None
    base = service.defs[0].file.directory if service.defs else service.origin_dir or "."
    dockerfile = "Dockerfile"
    if isinstance(build, dict) and isinstance(untag(build.get("dockerfile")), str):
        dockerfile = untag(build["dockerfile"])
    ctx_dir = os.path.join(base, interpolate(ctx, env))
    text = reader.read(os.path.join(ctx_dir, interpolate(dockerfile, env)))
    if not text:
        return None
    stages: set[str] = set()
    last = None
    for line in text.splitlines():
        parts = line.strip().split()
        if len(parts) >= 2 and parts[0].upper() == "FROM":
            args = [p for p in parts[1:] if not p.startswith("--")]
            if not args:
                continue
            last = args[0]
            if len(args) >= 3 and args[1].upper() == "AS":
                stages.add(args[2].lower())
    if last is None or last.lower() in stages or "$" in last or last.lower() == "scratch":
        return None
    return last


def classify(service: Service, env: dict[str, str], reader: "FileReader | None" = None,
             settings: Settings | None = None) -> Tier:
    data = service.data
    opts = service_options(data)
    image = image_of(data, env)
    info, how = knowledge.lookup_image(image) if image else (None, "")
    flags = info.flags if info else frozenset()
    family = info.family if info else None

    forced = opts.get("tier")
    if forced in knowledge.TIERS:
        return Tier(forced, "x-compose-harden tier", image, info, family, flags, forced=True)
    own = settings.image_tier(image) if settings is not None and image else None
    if own is not None:  # the team's own images, by pattern in the project configuration
        return Tier(own[0], own[1], image, info, family, flags)
    if info is None and image is None and reader is not None:
        base = dockerfile_image(service, reader, env)
        if base:
            info, how = knowledge.lookup_image(base)
            if info is not None:
                how = f"built FROM {base}" + ("" if " " not in how else f": {how}")
                flags, family = info.flags, info.family
    if info is not None:
        what = f"image {image}" if image and " " not in how else f"image {image}: {how}" if image else how
        # "zulip-postgresql": a word of the name matched the table, which is a guess
        return Tier(info.tier, what, image, info, family, flags, guessed="a word of" in how)
    port_table = knowledge.ports()
    for port in container_ports(data):
        pinfo = port_table.get(port)
        if pinfo and pinfo.tier == "data":
            return Tier("data", f"container port {port} ({pinfo.note})", image, None, pinfo.family, flags, guessed=True)
    published = published_numbers(data) & EDGE_PUBLISHED
    if published:
        return Tier("edge", f"publishes port {min(published)}", image, None, None, flags, guessed=True)
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


def classify_all(services: dict[str, Service], env: dict[str, str], reader: "FileReader | None" = None,
                 settings: Settings | None = None) -> dict[str, Tier]:
    """Every service's tier. Services that run the same image get the same tier: the one decided
    by the strongest evidence any of them has (three nodes of one search image must not land on
    two tiers because one of them publishes its port)."""
    tiers = {name: classify(svc, env, reader, settings) for name, svc in services.items()}
    by_image: dict[str, list[str]] = {}
    for name, t in tiers.items():
        if t.image and not t.forced:
            by_image.setdefault(t.image, []).append(name)
    for names in by_image.values():
        if len(names) < 2 or len({tiers[n].tier for n in names}) == 1:
            continue
        best = min(names, key=lambda n: _strength(tiers[n]))
        for n in names:
            if n != best and tiers[n].tier != tiers[best].tier:
                b = tiers[best]
                tiers[n] = Tier(b.tier, f"{b.evidence} (as {best}, same image)", tiers[n].image, b.info, b.family,
                                b.flags, guessed=b.guessed)
    return tiers


def _strength(t: Tier) -> int:
    """Lower is stronger: the image table, then container ports, then anything else."""
    if not t.guessed:
        return 0
    if t.evidence.startswith("container port"):
        return 1
    return 2

