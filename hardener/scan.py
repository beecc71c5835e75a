"""Read the project's own files for evidence: env files, mounted configs, build-context sources.

Everything here is read-only and bounded: only files inside the compose file's folder tree are
read (symlinks resolved first), each file and the total are size-capped, the number of files is
capped, dependency folders (node_modules, vendor, ...) are skipped, and nothing is executed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hardener.envfile import parse_env_text
from hardener.fsutil import under
from hardener.interpolate import interpolate
from hardener.yamlload import untag

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "vendor", "bower_components", "__pycache__", ".venv", "venv",
        ".tox", ".mypy_cache", ".pytest_cache", ".next", ".nuxt", "dist", "target", "coverage", ".gradle",
        ".idea", ".vscode", "site-packages", "Pods", ".terraform",
    }
)
BINARY_EXT = frozenset(
    """png jpg jpeg gif ico svgz webp bmp tif tiff psd woff woff2 ttf otf eot zip gz tgz bz2 xz 7z rar jar war
    class so dll dylib exe bin o a pyc pdf mp3 mp4 mov avi webm ogg wav flac sqlite db iso dmg wasm lock map""".split()
)


@dataclass(frozen=True)
class ScanLimits:
    max_file_bytes: int = 256 * 1024
    max_context_files: int = 2000
    max_context_bytes: int = 16 * 1024 * 1024
    max_mount_files: int = 50




class FileReader:
    """Reads small text files inside one root, once each."""

    def __init__(self, root: str, limits: ScanLimits = ScanLimits()):
        self.root = os.path.realpath(root)
        self.limits = limits
        # A project whose folder is the filesystem's root (a document on standard input read
        # from "/") has no tree to stay inside: read nothing.
        self.enabled = self.root != os.path.realpath(os.sep)
        self.cache: dict[str, str | None] = {}
        self.reals: dict[str, str] = {}

    def real(self, path: str) -> str:
        r = self.reals.get(path)
        if r is None:
            r = self.reals[path] = os.path.realpath(path)
        return r

    def inside(self, path: str) -> bool:
        return self.enabled and under(self.real(path), self.root)

    def read(self, path: str) -> str | None:
        real = self.real(path)
        if real in self.cache:
            return self.cache[real]
        text = None
        if self.enabled and under(real, self.root):
            ext = real.rsplit(".", 1)[-1].lower() if "." in os.path.basename(real) else ""
            try:
                if ext not in BINARY_EXT and os.path.isfile(real) and os.path.getsize(real) <= self.limits.max_file_bytes:
                    with open(real, "rb") as fh:
                        raw = fh.read(self.limits.max_file_bytes)
                    if b"\x00" not in raw[:8192]:
                        text = raw.decode("utf-8", "replace")
            except OSError:
                text = None
        self.cache[real] = text
        return text


def read_env_file_safe(path: str, reader: FileReader) -> dict[str, str] | None:
    """KEY=value pairs of an env file inside the project (size-capped, never executed)."""
    text = reader.read(path)
    return None if text is None else parse_env_text(text)


def env_files(data: dict, base: str) -> list[str]:
    value = untag(data.get("env_file"))
    items = value if isinstance(value, list) else [value] if value else []
    out = []
    for item in items:
        item = untag(item)
        if isinstance(item, dict):
            item = untag(item.get("path"))
        if isinstance(item, str) and item:
            out.append(os.path.join(base, item))
    return out


def bind_sources(data: dict, base: str, env: dict[str, str]) -> list[str]:
    """Host paths bind-mounted into the service (short and long volume syntax)."""
    out = []
    for vol in untag(data.get("volumes")) or []:
        vol = untag(vol)
        src = None
        if isinstance(vol, str):
            text = interpolate(vol, env)
            parts = text.split(":")
            if len(parts) >= 2 and parts[0].startswith((".", "/", "~")):
                src = parts[0]
        elif isinstance(vol, dict) and untag(vol.get("type")) == "bind":
            s = untag(vol.get("source"))
            if isinstance(s, str):
                src = interpolate(s, env)
        if src and not src.startswith("~"):
            out.append(os.path.normpath(os.path.join(base, src)))
    return out


def mounted_texts(reader: FileReader, data: dict, base: str, env: dict[str, str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for src in bind_sources(data, base, env):
        if not reader.inside(src):
            continue
        if os.path.isdir(src):
            count = 0
            for dirpath, dirnames, filenames in os.walk(src):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
                for fn in sorted(filenames):
                    if count >= reader.limits.max_mount_files:
                        break
                    count += 1
                    p = os.path.join(dirpath, fn)
                    text = reader.read(p)
                    if text:
                        out.append((p, text))
                if count >= reader.limits.max_mount_files:
                    break
        else:
            text = reader.read(src)
            if text:
                out.append((src, text))
    return out


@dataclass
class ContextScan:
    status: str  # "scanned" (every file read), "partial" (a cap was hit), "missing" (no folder), "remote"
    files: list[tuple[str, str]]


def scan_context(reader: FileReader, context: str, base: str) -> ContextScan:
    if "://" in context or context.startswith("git@"):
        return ContextScan("remote", [])
    path = os.path.normpath(os.path.join(base, context))
    if not reader.inside(path) or not os.path.isdir(path):
        return ContextScan("missing", [])
    files: list[tuple[str, str]] = []
    seen = 0
    total = 0
    status = "scanned"
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for fn in sorted(filenames):
            seen += 1
            if seen > reader.limits.max_context_files or total > reader.limits.max_context_bytes:
                return ContextScan("partial", files)
            text = reader.read(os.path.join(dirpath, fn))
            if text:
                total += len(text)
                files.append((os.path.join(dirpath, fn), text))
    if not files:
        status = "missing"
    return ContextScan(status, files)
