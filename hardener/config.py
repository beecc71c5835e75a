"""The project configuration: ``.compose-harden.yaml`` or ``[tool.compose-harden]`` in
``pyproject.toml``, found upward from the compose file like ruff's and black's.

The search starts in the compose file's folder (the current folder for standard input) and goes
up, folder by folder, to the first one that holds a configuration; it stops after the repository
root (a folder with ``.git``). In one folder ``.compose-harden.yaml`` (or ``.yml``) comes before
``pyproject.toml``, and a ``pyproject.toml`` counts only when it has the table. The nearest file
is the whole configuration: files are not merged.

Settings (every key optional)::

    select: [rule-id, ...]        only these rules (default: all)
    ignore: [rule-id, ...]        never these rules: not reported, and not fixed
    exclude: [glob, ...]          compose files to skip, relative to the configuration's folder
    networks:                     names of the networks the tool creates
      frontend: frontend
      backend: backend
      data: data
    tiers:                        the tier of the team's own images, first match wins
      "registry.example.com/team/*": app
    accept:                       acknowledged findings, per service ("*": every service and
      db:                         the findings about networks), with the reason
        data-published-port: "only bound to 127.0.0.1 for backups"
    egress: gateway               route outbound traffic through one egress gateway (opt-in)
    egress-mode: report           report (allow and log all but metadata) | enforce (allow-list)
    egress-allow: [api.stripe.com, .github.com]   enforce mode: hosts allowed besides the stack's
    egress-image: ubuntu/squid:6.6-24.04_beta     the gateway's image

Unknown keys, unknown rule ids, and acknowledgements without a reason are errors that name the
file and line. This module is read on every run: it imports no parser until a file is found.
"""

from __future__ import annotations

import fnmatch
import os
from typing import Any

from hardener.errors import HardenError, InputError
from hardener.record import field, record

CONFIG_FILES = (".compose-harden.yaml", ".compose-harden.yml")
PYPROJECT = "pyproject.toml"
TABLE = ("tool", "compose-harden")
KEYS = ("select", "ignore", "exclude", "networks", "tiers", "accept", "egress", "egress-mode", "egress-allow",
        "egress-image")
EGRESS_MODES = ("report", "enforce")
# config name -> the planner's role for the network
NETWORK_ROLES = {"frontend": "front", "backend": "back", "data": "data"}
RESERVED_NETWORKS = frozenset({"default", "host", "bridge", "none"})
TIERS = ("edge", "app", "data")
EVERY_SERVICE = "*"


class ConfigError(HardenError):
    """The configuration file is not valid: the run stops (exit status 2)."""


@record(frozen=True)
class Accept:
    """An acknowledged finding: ``rule`` on ``service`` (None: every service and the findings
    about networks) accepted for ``reason``, written at ``where`` (``file:line``)."""

    rule: str
    service: str | None
    reason: str
    where: str
    in_source: bool  # in the compose file itself (x-compose-harden) rather than a configuration

    def covers(self, rule: str, service: str | None) -> bool:
        return self.rule == rule and (self.service is None or self.service == service)

    def as_dict(self) -> dict:
        return {"reason": self.reason, "where": self.where}


@record(frozen=True)
class Settings:
    """The configuration in effect for a project (a configuration file's, or the defaults)."""

    path: str | None = None  # the configuration file (None: defaults)
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    networks: tuple[tuple[str, str], ...] = ()  # (config name, network name)
    tiers: tuple[tuple[str, str], ...] = ()  # (image pattern, tier)
    accepts: tuple[Accept, ...] = field(default=())
    egress: str | None = None  # "gateway": route outbound traffic through one forward proxy
    egress_mode: str | None = None  # report | enforce
    egress_allow: tuple[str, ...] = ()  # enforce mode: hosts allowed besides those the stack names
    egress_image: str | None = None  # the gateway's image

    @property
    def root(self) -> str | None:
        return os.path.dirname(self.path) if self.path else None

    @property
    def shown(self) -> str:
        return self.path or "the defaults"

    # --- what the planner and the classifier read ----------------------------------------------
    def enabled(self, rule: str) -> bool:
        return (self.select is None or rule in self.select) and rule not in self.ignore

    def network_name(self, role: str, default: str) -> str:
        """The name of the network the planner creates for ``role`` (front, back, data)."""
        for name, value in self.networks:
            if NETWORK_ROLES[name] == role:
                return value
        return default

    def image_tier(self, image: str) -> tuple[str, str] | None:
        """(tier, evidence) for an image matching one of the ``tiers`` patterns."""
        for pattern, tier in self.tiers:
            if fnmatch.fnmatchcase(image, pattern):
                return tier, f"image {image} matches '{pattern}' in {self.path}"
        return None

    def excluded(self, path: str) -> bool:
        if not self.exclude or self.root is None or path == "-":
            return False
        rel = os.path.relpath(os.path.abspath(path), self.root).replace(os.sep, "/")
        if rel.startswith("../"):
            return False
        parts = rel.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        for pattern in self.exclude:
            pat = pattern.strip("/")
            if any(fnmatch.fnmatchcase(p, pat) for p in prefixes):
                return True
            if "/" not in pat and any(fnmatch.fnmatchcase(p, pat) for p in parts):
                return True
        return False

    def as_yaml(self) -> str:
        """The effective configuration, for ``--show-config`` (JSON values are YAML)."""
        import json

        names = {n: n for n in NETWORK_ROLES}
        names.update(dict(self.networks))
        accept: dict[str, dict[str, str]] = {}
        for a in self.accepts:
            accept.setdefault(a.service or EVERY_SERVICE, {})[a.rule] = a.reason
        lines = [f"# {self.path}" if self.path else "# no configuration file: the defaults"]
        lines.append("select: " + ("all" if self.select is None else json.dumps(list(self.select))))
        lines.append("ignore: " + json.dumps(list(self.ignore)))
        lines.append("exclude: " + json.dumps(list(self.exclude)))
        lines.append("networks: " + json.dumps(names))
        lines.append("tiers: " + json.dumps(dict(self.tiers)))
        lines.append("accept: " + json.dumps(accept))
        lines.append("egress: " + json.dumps(self.egress or "off"))
        lines.append("egress-mode: " + json.dumps(self.egress_mode or "report"))
        lines.append("egress-allow: " + json.dumps(list(self.egress_allow)))
        lines.append("egress-image: " + json.dumps(self.egress_image))
        return "\n".join(lines) + "\n"


DEFAULTS = Settings()


# --- finding the file ---------------------------------------------------------------------------


def find_config(start: str, known: dict[str, str | None] | None = None) -> str | None:
    """The nearest configuration file at or above the folder ``start``. ``known``: the answers
    for folders looked at before (filled in for every folder passed on the way up), so that files
    in sibling folders do not search their common parents again."""
    known = {} if known is None else known
    here = os.path.abspath(start)
    passed: list[str] = []
    found: str | None = None
    while True:
        if here in known:
            found = known[here]
            break
        passed.append(here)
        found = _config_in(here)
        if found is not None:
            break
        parent = os.path.dirname(here)
        if parent == here or os.path.exists(os.path.join(here, ".git")):
            break
        here = parent
    for folder in passed:
        known[folder] = found
    return found


def _config_in(folder: str) -> str | None:
    """The configuration file in this folder itself, if any."""
    for name in CONFIG_FILES:
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return candidate
    candidate = os.path.join(folder, PYPROJECT)
    if os.path.isfile(candidate) and _has_table(candidate):
        return candidate
    return None


def _has_table(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 20)
    except OSError:
        return False
    import re

    # only a file that mentions the table is parsed ([tool.compose-harden], tool.compose-harden.x =)
    if not re.search(r"tool\s*\.\s*[\"']?compose-harden[\"']?\s*[\].=]", text):
        return False
    return _toml_table(text) is not _MISSING


class Finder:
    """Settings per folder, each configuration file read once."""

    def __init__(self, explicit: str | None = None, disabled: bool = False):
        self.explicit = explicit
        self.disabled = disabled
        self._by_dir: dict[str, str | None] = {}
        self._loaded: dict[str, Settings] = {}

    def for_path(self, path: str) -> Settings:
        """The settings for a compose file (or "-": the current folder)."""
        if self.disabled:
            return DEFAULTS
        if self.explicit:
            return self.load(self.explicit)
        folder = os.getcwd() if path == "-" else path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        found = find_config(folder, self._by_dir)
        return self.load(found) if found else DEFAULTS

    def load(self, path: str) -> Settings:
        if path not in self._loaded:
            self._loaded[path] = load_config(path)
        return self._loaded[path]


# --- reading and validating ---------------------------------------------------------------------


@record
class Item:
    """A value of the configuration with where it was written (1-based; None when unknown)."""

    value: Any  # scalar | list[Item] | dict[str, tuple[Item, Item]] (key item, value item)
    line: int | None = None
    column: int | None = None


def load_config(path: str) -> Settings:
    try:
        with open(path, "rb") as f:
            raw = f.read(1 << 20)
    except OSError as exc:
        raise ConfigError(path, f"cannot read the configuration: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        raise ConfigError(path, "the configuration is not valid UTF-8") from None
    if os.path.basename(path) == PYPROJECT:
        root = _toml_items(path, text)
    else:
        root = _yaml_items(path, text)
    return settings_from(path, root)


def _yaml_items(path: str, text: str) -> Item:
    if not text.strip() or all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        return Item({}, 1, 1)
    from hardener.yamlload import load  # the project's own parser: limits, duplicate keys

    try:
        doc = load(path, text)
    except InputError as exc:
        raise ConfigError(path, exc.message, exc.line, exc.column) from None
    return yaml_item(doc.root)


def yaml_item(node: Any) -> Item:
    """A YAML node as an :class:`Item` tree (also used for ``x-compose-harden`` in compose files)."""
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, MappingNode):
        out: dict[str, tuple[Item, Item]] = {}
        for k, v in node.value:
            key = yaml_item(k)
            out[str(key.value)] = (key, yaml_item(v))
        return Item(out, line, col)
    if isinstance(node, SequenceNode):
        return Item([yaml_item(n) for n in node.value], line, col)
    if isinstance(node, ScalarNode):
        from hardener.yamlload import _scalar

        return Item(_scalar(node), line, col)
    return Item(None, line, col)


_MISSING = object()


def _toml_table(text: str) -> Any:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None  # reported by _toml_items with its position
    table: Any = data
    for part in TABLE:
        if not isinstance(table, dict) or part not in table:
            return _MISSING
        table = table[part]
    return table


def _toml_items(path: str, text: str) -> Item:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        import re

        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (None, None)
        if m is None and "end of document" in str(exc):
            line = len(text.rstrip().splitlines()) or 1  # the last line: what is left open
        msg = str(exc).split(" (at ")[0]
        raise ConfigError(path, f"invalid TOML: {msg}", line, col) from None
    table: Any = data
    for part in TABLE:
        table = table.get(part, {}) if isinstance(table, dict) else {}
    lines = toml_key_lines(text)
    header = lines.get(TABLE, 1)

    def wrap(value: Any, keypath: tuple[str, ...]) -> Item:
        line = lines.get(keypath) or _nearest(lines, keypath) or header
        if isinstance(value, dict):
            return Item({str(k): (Item(k, lines.get(keypath + (k,)) or line), wrap(v, keypath + (k,)))
                         for k, v in value.items()}, line)
        if isinstance(value, list):
            return Item([wrap(v, keypath) for v in value], line)
        return Item(value, line)

    return wrap(table, TABLE)


def _nearest(lines: dict[tuple[str, ...], int], keypath: tuple[str, ...]) -> int | None:
    for i in range(len(keypath) - 1, 0, -1):
        if keypath[:i] in lines:
            return lines[keypath[:i]]
    return None


def toml_key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Key path -> the 1-based line where it is written: table headers, ``key = value`` lines
    (dotted keys) and keys of inline tables. Enough TOML to point an error at its line."""
    out: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    stack: list[tuple[str, ...]] = []  # inline tables being read: their key paths
    pending: tuple[str, ...] | None = None  # a key whose value (maybe an inline table) follows
    in_array = 0
    multiline: str | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        i = 0
        n = len(line)
        if multiline:
            end = line.find(multiline)
            if end < 0:
                continue
            i = end + 3
            multiline = None
        expect_key = not stack and not in_array
        if expect_key:
            stripped = line.strip()
            if stripped.startswith("["):
                inner = stripped.strip("[]").split("#")[0].strip().rstrip("]")
                keys, _ = _toml_keys(inner, 0)
                if keys:
                    table = tuple(keys)
                    out.setdefault(table, lineno)
                continue
        key_expected = expect_key or bool(stack and not in_array)
        while i < n:
            ch = line[i]
            if ch in " \t,":
                if ch == "," and stack and not in_array:
                    key_expected = True
                i += 1
                continue
            if ch == "#":
                break
            if key_expected and (ch.isalnum() or ch in "_-\"'"):
                keys, i = _toml_keys(line, i)
                base = stack[-1] if stack else table
                pending = base + tuple(keys)
                out.setdefault(pending, lineno)
                key_expected = False
                continue
            if ch == "=":
                i += 1
                continue
            if ch in "\"'":
                if line.startswith(ch * 3, i):
                    end = line.find(ch * 3, i + 3)
                    if end < 0:
                        multiline = ch * 3
                        break
                    i = end + 3
                    continue
                j = i + 1
                while j < n and line[j] != ch:
                    j += 2 if ch == '"' and line[j] == "\\" else 1
                i = j + 1
                continue
            if ch == "{":
                stack.append(pending or (stack[-1] if stack else table))
                key_expected = True
                i += 1
                continue
            if ch == "}":
                if stack:
                    stack.pop()
                i += 1
                continue
            if ch == "[":
                in_array += 1
            elif ch == "]":
                in_array = max(in_array - 1, 0)
            i += 1
    return out


def _toml_keys(text: str, i: int) -> tuple[list[str], int]:
    """Dotted key starting at ``text[i]``: (parts, index after it)."""
    keys: list[str] = []
    n = len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] in "\"'":
            q = text[i]
            j = i + 1
            buf = []
            while j < n and text[j] != q:
                if q == '"' and text[j] == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            keys.append("".join(buf))
            i = j + 1
        else:
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_-"):
                j += 1
            if j == i:
                break
            keys.append(text[i:j])
            i = j
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == ".":
            i += 1
            continue
        break
    return keys, i


def settings_from(path: str, root: Item) -> Settings:
    def fail(item: Item, message: str) -> ConfigError:
        return ConfigError(path, message, item.line, item.column)

    if root.value is None:
        return Settings(path=path)
    if not isinstance(root.value, dict):
        raise fail(root, "the configuration must be a mapping of settings")
    values: dict[str, Any] = {}
    for key, (kitem, vitem) in root.value.items():
        if key not in KEYS:
            raise fail(kitem, f"unknown key '{key}' (known: {', '.join(KEYS)})")
        if key in ("select", "ignore"):
            values[key] = tuple(rule_ids(vitem, fail, key))
        elif key == "exclude":
            values[key] = tuple(_strings(vitem, fail, key))
        elif key == "networks":
            values[key] = _networks(vitem, fail)
        elif key == "tiers":
            values[key] = _tiers(vitem, fail)
        elif key == "accept":
            values["accepts"] = tuple(_service_accepts(path, vitem, fail))
        else:
            values.update(egress_settings(key, vitem, fail))
    return Settings(path=path, **values)


def egress_settings(key: str, item: Item, fail: Any) -> dict[str, Any]:
    """The egress gateway's settings (``egress``, ``egress-mode``, ``egress-allow``,
    ``egress-image``), from a configuration or a compose file's top-level ``x-compose-harden``."""
    import re

    if key == "egress":
        if item.value not in ("gateway", "off", None):
            raise fail(item, f"egress: 'gateway' or 'off', not {item.value!r}")
        return {"egress": "gateway" if item.value == "gateway" else None}
    if key == "egress-mode":
        if item.value not in EGRESS_MODES:
            raise fail(item, f"egress-mode: one of {', '.join(EGRESS_MODES)}, not {item.value!r}")
        return {"egress_mode": item.value}
    if key == "egress-allow":
        hosts = _strings(item, fail, key)
        for x, h in zip(item.value or [], hosts):
            if not re.fullmatch(r"\.?[A-Za-z0-9*](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)*|[0-9a-fA-F:./]+", h):
                raise fail(x, f"egress-allow: not a host name or address: {h!r}")
        return {"egress_allow": tuple(hosts)}
    if key == "egress-image":
        if not isinstance(item.value, str) or not item.value.strip() or any(c.isspace() for c in item.value):
            raise fail(item, "egress-image: an image reference")
        return {"egress_image": item.value}
    raise fail(item, f"unknown key '{key}'")


def _strings(item: Item, fail: Any, key: str) -> list[str]:
    if item.value is None:
        return []
    if not isinstance(item.value, list):
        raise fail(item, f"'{key}' must be a list")
    out = []
    for x in item.value:
        if not isinstance(x.value, str) or not x.value:
            raise fail(x, f"'{key}' must be a list of strings")
        out.append(x.value)
    return out


def rule_ids(item: Item, fail: Any, key: str) -> list[str]:
    from hardener.rules import registry

    ids = _strings(item, fail, key)
    known = registry()
    for x, rid in zip(item.value or [], ids):
        if rid not in known:
            raise fail(x, f"unknown rule id '{rid}' (compose-harden --list-rules lists them)")
    return ids


def _mapping(item: Item, fail: Any, key: str) -> dict[str, tuple[Item, Item]]:
    if item.value is None:
        return {}
    if not isinstance(item.value, dict):
        raise fail(item, f"'{key}' must be a mapping")
    return item.value


def _networks(item: Item, fail: Any) -> tuple[tuple[str, str], ...]:
    import re

    out: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for name, (kitem, vitem) in _mapping(item, fail, "networks").items():
        if name not in NETWORK_ROLES:
            raise fail(kitem, f"unknown key '{name}' in networks (known: {', '.join(NETWORK_ROLES)})")
        value = vitem.value
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
            raise fail(vitem, f"networks.{name}: not a valid network name: {value!r}")
        if value in RESERVED_NETWORKS:
            raise fail(vitem, f"networks.{name}: '{value}' is reserved by Docker")
        if value in seen:
            raise fail(vitem, f"networks.{name}: '{value}' is used twice (also for {seen[value]})")
        seen[value] = name
        out.append((name, value))
    return tuple(out)


def _tiers(item: Item, fail: Any) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for pattern, (kitem, vitem) in _mapping(item, fail, "tiers").items():
        if not pattern:
            raise fail(kitem, "tiers: an empty image pattern")
        if vitem.value not in TIERS:
            raise fail(vitem, f"tiers: '{pattern}': the tier must be one of {', '.join(TIERS)}, not {vitem.value!r}")
        out.append((pattern, vitem.value))
    return tuple(out)


def _service_accepts(path: str, item: Item, fail: Any) -> list[Accept]:
    out: list[Accept] = []
    for service, (kitem, vitem) in _mapping(item, fail, "accept").items():
        if vitem.value is None or not isinstance(vitem.value, dict):
            raise fail(vitem, f"accept: '{service}' must map rule ids to reasons")
        scope = None if service == EVERY_SERVICE else service
        out.extend(accepts(path, vitem, fail, scope, in_source=False))
    return out


def accepts(path: str, item: Item, fail: Any, service: str | None, in_source: bool) -> list[Accept]:
    """``{rule-id: reason}`` as acknowledgements; unknown rule ids and missing reasons are errors."""
    from hardener.rules import registry

    if not isinstance(item.value, dict):
        raise fail(item, "accept must map rule ids to reasons")
    known = registry()
    out = []
    for rule, (kitem, vitem) in item.value.items():
        if rule not in known:
            raise fail(kitem, f"unknown rule id '{rule}' (compose-harden --list-rules lists them)")
        reason = vitem.value
        if not isinstance(reason, str) or not reason.strip():
            raise fail(vitem if vitem.line else kitem, f"accept {rule}: a reason is required (why is this finding acceptable?)")
        where = f"{path}:{kitem.line}" if kitem.line else path
        out.append(Accept(rule, service, reason.strip(), where, in_source))
    return out
