"""Read the project's own files for evidence: env files, mounted configs, build-context sources.

Everything here is read-only and bounded: only files inside the compose file's folder tree are
read (symlinks resolved first), each file and the total are size-capped, the number of files is
capped, dependency folders (node_modules, vendor, ...) are skipped, and nothing is executed.
"""

from __future__ import annotations

import os
import re

from hardener.envfile import parse_env_text
from hardener.fsutil import realpath, under
from hardener.interpolate import interpolate
from hardener.record import record
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


@record(frozen=True)
class ScanLimits:
    """Bounds on what is read from the project's files."""

    max_file_bytes: int = 256 * 1024
    max_context_files: int = 2000
    max_context_bytes: int = 16 * 1024 * 1024
    max_mount_files: int = 50




class FileReader:
    """Reads small text files inside one root, once each."""

    def __init__(self, root: str, limits: ScanLimits = ScanLimits()):
        self.root = realpath(root)
        self.limits = limits
        # A project whose folder is the filesystem's root (a document on standard input read
        # from "/") has no tree to stay inside: read nothing.
        self.enabled = self.root != realpath(os.sep)
        self.cache: dict[str, str | None] = {}
        self.reals: dict[str, str] = {}
        self.contexts: dict[tuple[str, bool], "ContextScan"] = {}

    def real(self, path: str) -> str:
        r = self.reals.get(path)
        if r is None:
            r = self.reals[path] = realpath(path)
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


@record(frozen=True)
class ConfigText:
    """A configuration text a service reads: a file mounted from the project, a Compose
    ``configs:`` entry (``file:`` or inline ``content:``), or inline ``content:`` on a volume."""

    where: str  # as shown to the user: a path relative to the project, or "configs.x (inline)"
    text: str
    target: str | None = None  # where the service sees it ("/etc/nginx/nginx.conf"), when known


def bind_mounts(data: dict, base: str, env: dict[str, str]) -> list[tuple[str, str | None, str | None]]:
    """(host path, container path, inline content) of the service's bind mounts (short and long
    syntax; a long-syntax mount may carry its file's ``content:`` inline, as some hosting
    platforms' templates write it)."""
    out = []
    for vol in untag(data.get("volumes")) or []:
        vol = untag(vol)
        src = target = content = None
        if isinstance(vol, str):
            text = interpolate(vol, env)
            parts = text.split(":")
            if len(parts) >= 2 and parts[0].startswith((".", "/", "~")):
                src, target = parts[0], parts[1]
        elif isinstance(vol, dict) and untag(vol.get("type")) in ("bind", None):
            s = untag(vol.get("source"))
            t = untag(vol.get("target"))
            c = untag(vol.get("content"))
            if isinstance(s, str) and (untag(vol.get("type")) == "bind" or s.startswith((".", "/"))):
                src = interpolate(s, env)
            target = interpolate(t, env) if isinstance(t, str) else None
            content = c if isinstance(c, str) else None
        if src and not src.startswith("~"):
            out.append((os.path.normpath(os.path.join(base, src)), target, content))
        elif content is not None:
            out.append(("", target, content))
    return out


def bind_sources(data: dict, base: str, env: dict[str, str]) -> list[str]:
    """Host paths bind-mounted into the service (short and long volume syntax)."""
    return [src for src, _, _ in bind_mounts(data, base, env) if src]


def _rel(path: str, reader: FileReader) -> str:
    """The path relative to the reader's root (as written when it leads out of it)."""
    rel = os.path.relpath(reader.real(path), reader.root)
    return path if rel.startswith("..") else rel


def mounted_texts(reader: FileReader, data: dict, base: str, env: dict[str, str]) -> list[ConfigText]:
    """Text files the service mounts from the project, and inline mount contents. Compose files
    are not read: they describe the stack and name every service in it, and a service that
    mounts the project folder (``- .:/code``) does not connect to what they name."""
    out: list[ConfigText] = []
    for src, target, content in bind_mounts(data, base, env):
        if content is not None:
            out.append(ConfigText(f"{_rel(src, reader) if src else target} (inline content)", content, target))
            continue
        if not reader.inside(src):
            continue
        if os.path.isdir(src):
            count = 0
            for dirpath, dirnames, filenames in os.walk(src):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
                for fn in sorted(filenames):
                    if count >= reader.limits.max_mount_files:
                        break
                    if is_compose_file(fn):
                        continue
                    count += 1
                    p = os.path.join(dirpath, fn)
                    text = reader.read(p)
                    if text:
                        sub = os.path.relpath(p, src)
                        out.append(ConfigText(_rel(p, reader), text, os.path.join(target, sub) if target else None))
                if count >= reader.limits.max_mount_files:
                    break
        elif not is_compose_file(os.path.basename(src)):
            text = reader.read(src)
            if text:
                out.append(ConfigText(_rel(src, reader), text, target))
            elif not os.path.exists(src) and is_config_name(os.path.basename(src)):
                example = example_of(src)  # read in place of the file that will be copied from it
                text = reader.read(example) if example else None
                if text:
                    out.append(ConfigText(f"{_rel(example, reader)} (the example of {os.path.basename(src)})", text, target))
    return out


# a file mounted with one of these extensions (or an env file) is the service's configuration
CONFIG_EXT = frozenset("yaml yml json toml ini cfg conf properties xml env hcl".split())
# a file of code is when its name says so (sentry.conf.py, config.php, local_settings.py)
CODE_EXT = frozenset("php js py rb lua".split())
CODE_CONFIG_WORDS = ("conf", "setting")
# and so is a folder mounted at a path of these names
CONFIG_DIRS = frozenset("config configs conf conf.d settings".split())


def is_config_name(name: str) -> bool:
    lower = name.lower()
    if is_env_file(lower):
        return True
    if "." not in lower.lstrip("."):
        return False
    ext = lower.rsplit(".", 1)[-1]
    return ext in CONFIG_EXT or ext in CODE_EXT and any(w in lower for w in CODE_CONFIG_WORDS)


def _configs_named_under(folder: str, text: str) -> list[str]:
    """The paths of configuration files (by name) under ``folder`` that ``text`` names."""
    out = []
    start = text.find(folder + "/")
    while start >= 0:
        end = start + len(folder) + 1
        while end < len(text) and not text[end].isspace() and text[end] not in "'\",;)":
            end += 1
        if is_config_name(os.path.basename(text[start:end])):
            out.append(text[start:end])
        start = text.find(folder + "/", end)
    return out


def example_of(path: str) -> str | None:
    """The example a missing configuration file is made from, beside it (``config.example.yml``,
    ``config.yml.dist``, ``.env.sample``...): what the file will hold once copied."""
    folder, name = os.path.split(path)
    stem, _, ext = name.rpartition(".")
    if not stem.strip("."):
        stem, ext = name, ""
    forms = [f"{name}.{w}" for w in ("example", "sample", "dist", "template", "default", "tpl", "orig")]
    if ext:
        forms += [f"{stem}.{w}.{ext}" for w in ("example", "sample", "dist", "template", "default")]
        forms += [f"{stem}-example.{ext}", f"{stem}_example.{ext}", f"example.{name}"]
    else:
        forms += [f"{name.lstrip('.')}.example", f"example{name}"]
    for form in forms:
        candidate = os.path.join(folder, form)
        if os.path.isfile(candidate):
            return candidate
    return None


def _holds_files(folder: str) -> bool:
    """Does the folder hold a file other than dotfiles (``.gitkeep``)?"""
    for _, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        if any(not f.startswith(".") for f in filenames):
            return True
    return False


def missing_config(reader: FileReader, data: dict, base: str, env: dict[str, str], texts: list[str]) -> str | None:
    """Why the service reads configuration the project should hold but does not (None when it
    does not): a bind mount from inside the project that is a configuration file by its name, a
    folder mounted at a configuration folder, or a folder holding a configuration file the
    service's command, entrypoint or environment (``texts``) names
    (``--config-path=/data/homeserver.yaml`` under ``/data``) -- when it is missing (created at run
    time by an init job), a dangling link, holds nothing but dotfiles (a ``.gitkeep``), or lacks
    the named file, with no example beside it to be copied from (``config.example.yml``, which
    :func:`mounted_texts` reads in its place). A mount from outside the project (a host
    path such as ``/srv/app/config``) is where a deployment keeps its configuration by choice: it
    is not counted, as the configuration in an image is not."""
    if not reader.enabled:
        return None
    for src, target, content in bind_mounts(data, base, env):
        if content is not None or not src or is_compose_file(os.path.basename(src)) or not reader.inside(src):
            continue
        target = (target or "").rstrip("/")
        where = _rel(src, reader)
        if is_config_name(os.path.basename(src)):
            if not os.path.isfile(src) and example_of(src) is None:
                return f"its mounted configuration {where} is not in the project (a configuration file)"
        elif target and os.path.basename(target).lower() in CONFIG_DIRS:
            if not _holds_files(src):
                return f"its mounted configuration {where} is not in the project (mounted at {target})"
        elif target:
            for path in (p for t in texts for p in _configs_named_under(target, t)):
                file = os.path.join(src, path[len(target) + 1:])
                if not reader.inside(file) or not os.path.isfile(file) and example_of(file) is None:
                    return (f"its mounted configuration {where}/{path[len(target) + 1:]} is not in the project "
                            f"({path} in its command or environment)")
    return None


def compose_configs(reader: FileReader, data: dict, configs: dict, base: str, env: dict[str, str]) -> list[ConfigText]:
    """The Compose ``configs:`` a service uses, from top-level ``configs`` (``file:``,
    inline ``content:``, or ``environment:``)."""
    out: list[ConfigText] = []
    for entry in untag(data.get("configs")) or []:
        entry = untag(entry)
        if isinstance(entry, str):
            name, target = entry, "/" + entry
        elif isinstance(entry, dict) and isinstance(untag(entry.get("source")), str):
            name = untag(entry["source"])
            t = untag(entry.get("target"))
            target = t if isinstance(t, str) else "/" + name
        else:
            continue
        spec = untag(configs.get(name))
        if not isinstance(spec, dict):
            continue
        content = untag(spec.get("content"))
        file = untag(spec.get("file"))
        var = untag(spec.get("environment"))
        if isinstance(content, str):
            out.append(ConfigText(f"configs.{name} (inline)", interpolate(content, env), target))
        elif isinstance(file, str):
            path = os.path.normpath(os.path.join(base, interpolate(file, env)))
            text = reader.read(path) if reader.inside(path) else None
            if text:
                out.append(ConfigText(_rel(path, reader), text, target))
        elif isinstance(var, str) and env.get(var):
            out.append(ConfigText(f"configs.{name} (from ${var})", env[var], target))
    return out


@record
class ContextScan:
    """The source files of a build context that were read, and whether all were."""

    status: str  # "scanned" (every relevant file read), "partial" (a cap was hit), "missing" (no folder),
    # "empty" (no source file in it), "remote"
    files: list[tuple[str, str]]


# What counts as an application's own source and configuration in a build context: code and
# configuration files, Dockerfiles and scripts. Not compose files (they describe the stack, not
# the app), not .env files, documentation, test data, fixtures, recorded HTTP cassettes or
# dashboards (they name services without connecting to them).
SOURCE_EXT = frozenset(
    """py pyw js mjs cjs ts mts cts tsx jsx vue svelte go rb php java kt kts scala groovy gradle cs fs vb rs ex exs erl
    hrl clj cljs lua pl pm sh bash zsh ksh c h cc cpp hpp swift dart r jl nim cr hs ml
    yml yaml toml ini cfg conf properties json xml tmpl template j2 jinja tpl""".split()
)
NOT_SOURCE_DIRS = frozenset(
    """test tests __tests__ spec specs fixtures fixture testdata test_data test-data cassettes __snapshots__ snapshots
    e2e docs doc documentation examples example samples sample third_party third-party dashboards migrations
    locale locales i18n translations static assets public""".split()
)
_COMPOSE_FILE = re.compile(r"^(?:docker-)?compose(?:[._-][\w.\-]*)?\.ya?ml$", re.I)
MAX_SOURCE_JSON = 32 * 1024


def is_compose_file(name: str) -> bool:
    """Is the file name a compose file's (``compose.yaml``, ``docker-compose.prod.yml``...)?"""
    return _COMPOSE_FILE.match(name) is not None


def is_env_file(name: str) -> bool:
    """Is the (lower-case) file name an env file's (``.env``, ``.env.local``, ``app.env``)?"""
    return name.startswith(".env") or name.endswith(".env")


def is_source_file(name: str, text_start: str = "") -> bool:
    lower = name.lower()
    if is_env_file(lower) or is_compose_file(lower):
        return False
    if lower.startswith(("dockerfile", "containerfile", "procfile")) or lower.endswith(".dockerfile"):
        return True
    if "." not in lower.lstrip("."):
        return text_start.startswith("#!")  # an extension-less script
    return lower.rsplit(".", 1)[-1] in SOURCE_EXT


def scan_context(reader: FileReader, context: str, base: str, source_only: bool = True) -> ContextScan:
    """The files of a build context, read once per context (services often share one)."""
    if "://" in context or context.startswith("git@"):
        return ContextScan("remote", [])
    path = os.path.normpath(os.path.join(base, context))
    key = (reader.real(path), source_only)
    cached = reader.contexts.get(key)
    if cached is not None:
        return cached
    result = _scan(reader, path, source_only)
    reader.contexts[key] = result
    return result


def _scan(reader: FileReader, path: str, source_only: bool) -> ContextScan:
    if not reader.inside(path) or not os.path.isdir(path):
        return ContextScan("missing", [])
    files: list[tuple[str, str]] = []
    seen = 0
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIP_DIRS and not d.startswith(".") and not (source_only and d.lower() in NOT_SOURCE_DIRS)
        )
        for fn in sorted(filenames):
            if source_only and not is_source_file(fn, "#!" if "." not in fn else ""):
                continue
            seen += 1
            if seen > reader.limits.max_context_files or total > reader.limits.max_context_bytes:
                return ContextScan("partial", files)
            full = os.path.join(dirpath, fn)
            text = reader.read(full)
            if not text:
                continue
            if source_only and "." not in fn and not fn.lower().startswith(("dockerfile", "containerfile", "procfile")) \
                    and not text.startswith("#!"):
                continue
            if source_only and fn.lower().endswith(".json") and len(text) > MAX_SOURCE_JSON:
                continue  # generated data (dashboards, lock files, translations), not configuration
            total += len(text)
            files.append((full, text))
    return ContextScan("scanned" if files else "empty", files)
