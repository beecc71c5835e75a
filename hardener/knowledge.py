"""Tables of knowledge: images, well-known ports and names, loaded from ``hardener/data/*.tsv``.

The tables are data, not code: add a row to teach the tool an image. See the header of each file
for its columns.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache

from hardener.record import record

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
TIERS = ("edge", "app", "data")
FLAGS = frozenset({"host-network", "admin", "exporter", "proxy-discovery", "scraper", "routable", "client", "integrations", "jvm", "node", "forward-proxy"})


@record(frozen=True)
class Port:
    """A container port (or range) and its protocol."""

    number: int
    protocol: str = "tcp"
    last: int | None = None  # the end of a range ("9000-9002")

    def __str__(self) -> str:
        text = f"{self.number}-{self.last}" if self.last else str(self.number)
        return f"{text}/udp" if self.protocol == "udp" else text


@record(frozen=True)
class ImageInfo:
    """A row of images.tsv: what the tool knows about an image."""

    key: str  # the table row's image column (name or org/name)
    tier: str
    ports: tuple[Port, ...]
    flags: frozenset[str]
    family: str | None
    note: str


@record(frozen=True)
class PortInfo:
    """A row of ports.tsv: what a well-known port says about the service listening on it."""

    port: Port
    tier: str | None
    family: str | None
    note: str


def parse_port(text: str) -> Port | None:
    text = text.strip()
    proto = "tcp"
    if "/" in text:
        text, proto = text.split("/", 1)
    return Port(int(text), proto.lower()) if text.isdigit() else None


def _lines(name: str) -> list[tuple[int, str]]:
    """(line number, line) of the rows of a table: blank lines and comments left out."""
    with open(os.path.join(DATA_DIR, name), encoding="utf-8") as fh:
        return [(n, line.rstrip("\n")) for n, line in enumerate(fh, 1) if line.strip() and not line.startswith("#")]


def _split(name: str, lineno: int, line: str, columns: int) -> list[str]:
    parts = line.split("\t")
    if len(parts) != columns:
        raise ValueError(f"{name}:{lineno}: expected {columns} tab-separated columns, found {len(parts)}")
    return [p.strip() for p in parts]


def _rows(name: str, columns: int) -> list[list[str]]:
    return [_split(name, n, line, columns) for n, line in _lines(name)]


def _dash(value: str) -> str | None:
    return None if value in ("", "-") else value


class ImageTable(Mapping[str, ImageInfo]):
    """images.tsv by lower-case image key. A run looks up a few dozen of its 800 rows, so a row is
    split into columns and read into an :class:`ImageInfo` (and checked) when it is first looked
    up; the keys, and so duplicate rows, are known at once."""

    def __init__(self, rows: dict[str, tuple[int, str]]):
        self._rows = rows  # key -> (line number, line)
        self._infos: dict[str, ImageInfo] = {}

    def __getitem__(self, key: str) -> ImageInfo:
        info = self._infos.get(key)
        if info is None:
            lineno, line = self._rows[key]
            info = self._infos[key] = _image_info(key, _split("images.tsv", lineno, line, 6))
        return info

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


def _image_info(key: str, row: list[str]) -> ImageInfo:
    image, tier, ports, flags, family, note = row
    if tier not in TIERS:
        raise ValueError(f"images.tsv: {image}: unknown tier {tier!r}")
    flagset = frozenset(f for f in flags.split(",") if _dash(f.strip())) if _dash(flags) else frozenset()
    unknown = flagset - FLAGS
    if unknown:
        raise ValueError(f"images.tsv: {image}: unknown flags {sorted(unknown)}")
    plist = tuple(p for p in (parse_port(x) for x in ports.split(",")) if p) if _dash(ports) else ()
    return ImageInfo(key, tier, plist, flagset, _dash(family), note)


@lru_cache(maxsize=None)
def images() -> ImageTable:
    rows: dict[str, tuple[int, str]] = {}
    for lineno, line in _lines("images.tsv"):
        image = line.split("\t", 1)[0].strip()
        key = image.lower()
        if key in rows:
            raise ValueError(f"images.tsv: duplicate image {image!r}")
        rows[key] = (lineno, line)
    return ImageTable(rows)


@lru_cache(maxsize=None)
def ports() -> dict[Port, PortInfo]:
    table = {}
    for port, tier, family, note in _rows("ports.tsv", 4):
        p = parse_port(port)
        if p:
            table[p] = PortInfo(p, _dash(tier), _dash(family), note)
    return table


@lru_cache(maxsize=None)
def names() -> dict[str, tuple[str, str | None]]:
    return {name.lower(): (tier, _dash(family)) for name, tier, family in _rows("names.tsv", 3)}


def image_reference(ref: str) -> tuple[str | None, str]:
    """(organisation, repository name) of an image reference, ignoring registry, tag and digest.

    ``ghcr.io/immich-app/postgres:14@sha256:...`` -> ("immich-app", "postgres");
    ``docker.io/valkey/valkey`` -> ("valkey", "valkey"); ``redis:7`` -> (None, "redis").
    """
    ref = ref.strip().split("@", 1)[0]
    parts = [p for p in ref.split("/") if p]
    if not parts:
        return None, ""
    last = parts[-1]
    if ":" in last:
        last = last.split(":", 1)[0]
    org = parts[-2].lower() if len(parts) >= 2 else None
    if org and len(parts) == 2 and ("." in org or ":" in org or org == "localhost"):
        org = None  # "mcr.microsoft.com/azure-sql-edge": a registry, not an organisation
    return org, last.lower()


_WORD = re.compile(r"[-_.]+")


def lookup_image(ref: str) -> tuple[ImageInfo | None, str]:
    """The table row for an image reference, and how it matched ("" when it did not)."""
    org, name = image_reference(ref)
    if not name:
        return None, ""
    table = images()
    if org and f"{org}/{name}" in table:
        return table[f"{org}/{name}"], f"{org}/{name}"
    if name in table:
        return table[name], name
    # "zulip-postgresql", "clickhouse-self-hosted-local", "raveberry-nginx": the last word that the
    # table knows decides (X-exporter is an exporter, X-postgresql a database) -- unless a word
    # says the image is a tool about a store ("mysql-backup"): then nothing is inferred.
    words = [w for w in _WORD.split(name) if w]
    tools = names()
    if any(tools.get(w, ("",))[0] == "app" for w in words):
        return None, ""
    for word in reversed(words):
        if word != name and word in table:
            return table[word], f"{word} (a word of {name})"
    return None, ""


def lookup_name(name: str) -> tuple[str, str | None, str] | None:
    """Tier and family for a service or build-context name, by the whole name or one of its words."""
    table = names()
    key = name.lower()
    if key in table:
        return (*table[key], key)
    for word in reversed(_WORD.split(key)):
        if word in table:
            return (*table[word], word)
    return None
