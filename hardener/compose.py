"""The compose model: parsed files, their services, and the merged project they form.

A project is one or more compose files merged in order (``-f a -f b``, or a default file and its
override). Each service keeps the effective data the analysis reads (merge keys, override files,
``extends`` and ``include`` resolved) and the places in the editable files where it is defined,
which is where the editor puts its changes.
"""

from __future__ import annotations

import os
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.tag import Tag

from hardener.errors import EmptyInput, InputError
from hardener.fsutil import inside
from hardener.lines import Lines
from hardener.record import field, record
from hardener.scan import FileReader, read_env_file_safe
from hardener.source import Source, read_source
from hardener.yamlload import MERGE_TAG, Document, Tagged, iter_nodes, load, node_position, tag_of, untag

_T_MAP_TAG = Tag(suffix="tag:yaml.org,2002:map")
TOP_LEVEL_KEYS = frozenset(
    {"version", "name", "services", "networks", "volumes", "secrets", "configs", "include", "models"}
)
SERVICE_HINT_KEYS = frozenset({"image", "build", "command", "ports", "links", "volumes", "environment"})
# A resource bound (with the node limit of hardener.yamlload): the analysis and the plan cost a
# little per service, and 10,000 services is far beyond any real stack.
MAX_SERVICES = 10_000


@record
class ComposeFile:
    """One parsed compose file: its source text, node tree and data."""

    source: Source
    doc: Document
    editable: bool = True

    @property
    def path(self) -> str:
        return self.source.path

    @property
    def data(self) -> dict:
        return self.doc.data

    @property
    def root(self) -> MappingNode:
        return self.doc.root  # type: ignore[return-value]

    @property
    def directory(self) -> str:
        if self.source.real_path is None:
            return os.getcwd()
        found = self.__dict__.get("_directory")
        if found is None:
            found = self.__dict__["_directory"] = os.path.dirname(os.path.abspath(self.source.path))
        return found

    def merges(self) -> dict[int, list[MappingNode]]:
        """id(mapping) -> the mappings that merge it in with ``<<`` (computed once)."""
        cached = self.__dict__.get("_merges")
        if cached is None:
            # a merge key is a plain << in the text, or a tagged one (!!merge "\x3c\x3c"): without
            # either there is nothing to walk
            text = self.doc.text
            cached = self.__dict__["_merges"] = merge_index(self.root) if "<<" in text or "!" in text else {}
        return cached

    def merge_users(self, node: Node) -> list[str]:
        """Services that merge this mapping in (``<<: *it``)."""
        by_id = self.service_ids()
        return [by_id[id(u)] for u in self.merges().get(id(node), []) if id(u) in by_id]

    def merges_into(self, node: MappingNode) -> list[Node]:
        """The mappings this one merges in with ``<<`` (its anchors)."""
        return [src for k, v in node.value if k.value == "<<" and tag_of(k) == MERGE_TAG for src in merge_sources(v)]

    def service_ids(self) -> dict[int, str]:
        """id(service node) -> service name (computed once)."""
        cached = self.__dict__.get("_service_ids")
        if cached is None:
            cached = self.__dict__["_service_ids"] = {id(n): name for name, n in self.service_nodes().items()}
        return cached

    def lines(self) -> list[str]:
        """The text split into lines (once), in the one line model (hardener.lines)."""
        cached = self.__dict__.get("_lines")
        if cached is None:
            cached = self.__dict__["_lines"] = self.source.text.split("\n")
        return cached

    def line_of(self, node: Node) -> int:
        """0-based index into lines() of a node's start (from its offset, not the parser's count)."""
        geometry = self.__dict__.get("_geometry")
        if geometry is None:
            geometry = self.__dict__["_geometry"] = Lines(self.source.text)
        return geometry.line_of(node.start_mark.index)

    def top_value_node(self, key: str) -> Node | None:
        loc = find_key(self.root, key)
        return loc.value if loc else None

    def service_nodes(self) -> dict[str, MappingNode]:
        """Service name -> its mapping node in this file (computed once: the tree never changes)."""
        cached = self.__dict__.get("_service_nodes")
        if cached is not None:
            return cached
        services = self.top_value_node("services")
        out: dict[str, MappingNode] = {}
        if isinstance(services, MappingNode):
            for k, v in merged_pairs(services):
                if isinstance(k, ScalarNode) and isinstance(v, MappingNode):
                    out.setdefault(str(k.value), v)
        self.__dict__["_service_nodes"] = out
        return out

    def service_keys(self) -> KeyIndex:
        """The keys written under ``services`` in this file, indexed once (``.own``: service name
        -> where it is written, the first if written twice; none merged in)."""
        cached = self.__dict__.get("_service_keys")
        if cached is None:
            cached = self.__dict__["_service_keys"] = KeyIndex(self.top_value_node("services"))
        return cached


def validate_compose(path: str, doc: Document) -> None:
    """Refuse documents that are not Compose-specification files."""
    data, root = doc.data, doc.root
    if not isinstance(data, dict):
        line, col = doc.position(root)
        kind = "a list" if isinstance(data, list) else "a single value"
        raise InputError(path, f"not a compose file: the top level is {kind}, not a mapping", line, col)
    if "services" not in data:
        for knode, _ in root.value:
            key = str(knode.value)
            value = data.get(key)
            if key in TOP_LEVEL_KEYS or key.startswith("x-"):
                continue
            if isinstance(value, dict) and SERVICE_HINT_KEYS & set(value):
                line, col = doc.position(knode)
                raise InputError(
                    path,
                    f"legacy version-1 compose file (service '{key}' at the top level, no 'services:' key):"
                    " convert it to the Compose specification first",
                    line,
                    col,
                )
        if not (set(data) & {"include", "networks", "volumes", "secrets", "configs"}):
            line, col = doc.position(root)
            raise InputError(path, "not a compose file: no 'services' key", line, col)
    for key in ("services", "networks", "volumes", "secrets", "configs"):
        if key in data and data[key] is None:  # "networks:" with nothing under it
            loc = find_key(root, key)
            line, col = doc.position(loc.key if loc else root)
            raise InputError(path, f"'{key}' is empty (null): Compose requires a mapping here "
                                   f"(write '{key}: {{}}' or remove the key)", line, col)
    services = untag(data.get("services"))
    if services is not None and not isinstance(services, dict):
        loc = find_key(root, "services")
        line, col = doc.position(loc.value if loc else root)
        raise InputError(path, "not a compose file: 'services' is not a mapping", line, col)
    if services and len(services) > MAX_SERVICES:
        loc = find_key(root, "services")
        line, col = doc.position(loc.value if loc else root)
        raise InputError(path, too_many_services(len(services)), line, col)
    for name, svc in (services or {}).items():
        if not isinstance(untag(svc), dict):
            snode = find_key(find_key(root, "services").value, name)  # type: ignore[union-attr]
            line, col = doc.position(snode.key if snode else root)
            what = "is empty (null): Compose requires a mapping" if svc is None else "is not a mapping"
            raise InputError(path, f"service '{name}' {what}", line, col)
    networks = untag(data.get("networks"))
    if networks is not None and not isinstance(networks, dict):
        loc = find_key(root, "networks")
        line, col = doc.position(loc.value if loc else root)
        raise InputError(path, "'networks' at the top level is not a mapping", line, col)


def too_many_services(count: int) -> str:
    return (f"{count:,} services: more than {MAX_SERVICES:,}, the tool's resource limit for one project "
            "(harden it in parts)")


def parse_source(source: Source, editable: bool = True, measured: bool = False, layer: bool = False) -> ComposeFile:
    """A parsed and validated compose file. ``layer``: a later file of a project, which Compose
    accepts empty or with only comments (it then adds nothing)."""
    try:
        doc = load(source.path, source.text, measured=measured)
    except EmptyInput:
        if not layer:
            raise
        doc = Document(root=MappingNode(_T_MAP_TAG, []), data={}, text=source.text)
        return ComposeFile(source=source, doc=doc, editable=editable)
    validate_compose(source.path, doc)
    return ComposeFile(source=source, doc=doc, editable=editable)


def load_file(path: str, max_bytes: int, editable: bool = True, layer: bool = False, scope: str | None = None) -> ComposeFile:
    """Read and parse a compose file (``scope``: the folder searched, which it must stay inside)."""
    return parse_source(read_source(path, max_bytes, scope), editable, layer=layer)


# --- locating keys in the node tree -----------------------------------------------------------


@record
class KeyLoc:
    """Where a key of a mapping is defined: directly, or in a mapping merged in with ``<<``."""

    key: ScalarNode
    value: Node
    holder: MappingNode  # the mapping whose pairs contain key/value
    via_merge: bool = False


def find_key(mapping: Node | None, key: str) -> KeyLoc | None:
    if not isinstance(mapping, MappingNode):
        return None
    merges: list[Node] = []
    for k, v in mapping.value:
        if k.value == "<<" and tag_of(k) == MERGE_TAG:
            merges.append(v)
        elif k.value == key and isinstance(k, ScalarNode):
            return KeyLoc(k, v, mapping)
    for m in merges:
        for src in merge_sources(m):
            loc = find_key(src, key)
            if loc:
                return KeyLoc(loc.key, loc.value, loc.holder, True)
    return None


class KeyIndex:
    """:func:`find_key` for many keys of one mapping: its own keys indexed once (a file declaring
    thousands of networks or services has each one looked up); a key it does not hold itself is
    looked for through its merge keys as find_key does."""

    def __init__(self, mapping: Node | None):
        self.mapping = mapping
        self.own: dict[str, KeyLoc] = {}
        if isinstance(mapping, MappingNode):
            for k, v in mapping.value:
                if isinstance(k, ScalarNode) and not (k.value == "<<" and tag_of(k) == MERGE_TAG):
                    self.own.setdefault(k.value, KeyLoc(k, v, mapping))

    def find(self, key: str) -> KeyLoc | None:
        loc = self.own.get(key)
        return loc if loc is not None else find_key(self.mapping, key)


def merged_pairs(mapping: MappingNode) -> list[tuple[Node, Node]]:
    """The key/value pairs of a mapping, its own first, then those merged in with ``<<`` (in
    order, recursively): the pairs that hold its keys, as YAML's merge rules decide."""
    own: list[tuple[Node, Node]] = []
    merged: list[tuple[Node, Node]] = []
    seen: set[int] = {id(mapping)}
    for k, v in mapping.value:
        if k.value == "<<" and tag_of(k) == MERGE_TAG:
            for src in merge_sources(v):
                if isinstance(src, MappingNode) and id(src) not in seen:
                    seen.add(id(src))
                    merged.extend(merged_pairs(src))
        else:
            own.append((k, v))
    return own + merged


def merge_index(root: Node) -> dict[int, list[MappingNode]]:
    """id(mapping) -> the mappings that merge it in with ``<<`` (one walk of the document)."""
    index: dict[int, list[MappingNode]] = {}
    for node in iter_nodes(root):
        if isinstance(node, MappingNode):
            for k, v in node.value:
                if k.value == "<<" and tag_of(k) == MERGE_TAG:
                    for src in merge_sources(v):
                        index.setdefault(id(src), []).append(node)
    return index


def merge_sources(value: Node) -> list[Node]:
    """The mappings a ``<<`` value merges in: one, or a list of them."""
    if isinstance(value, MappingNode):
        return [value]
    return list(value.value) if isinstance(value, SequenceNode) else []


# --- the merged project -----------------------------------------------------------------------

APPEND_KEYS = frozenset({"ports", "expose", "dns", "dns_search", "cap_add", "cap_drop", "devices", "volumes_from", "external_links", "env_file", "secrets", "configs", "volumes", "links"})
MAPPING_LIKE = frozenset({"environment", "labels", "networks", "depends_on", "annotations", "sysctls", "ulimits", "extra_hosts"})


def as_mapping(value: Any) -> dict:
    """A compose list-or-mapping (``environment``, ``labels``, ``networks``, ``depends_on``) as a dict."""
    value = untag(value)
    if isinstance(value, dict):
        return {str(k): untag(v) for k, v in value.items()}
    out: dict = {}
    if isinstance(value, list):
        for item in value:
            item = untag(item)
            if isinstance(item, str) and "=" in item:
                k, v = item.split("=", 1)
                out[k] = v
            elif item is not None:
                out[str(item)] = None
    return out


def merge_service(base: dict, over: dict) -> dict:
    """Merge two service definitions the way Compose merges override files."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Tagged) and value.tag == "!reset":
            out.pop(key, None)
            continue
        if isinstance(value, Tagged) and value.tag == "!override":
            out[key] = value.value
            continue
        if key not in out:
            out[key] = value
        elif key in MAPPING_LIKE and (isinstance(value, (dict, list)) and isinstance(out[key], (dict, list))):
            if isinstance(out[key], list) and isinstance(value, list) and key not in ("environment", "labels"):
                out[key] = out[key] + [v for v in value if v not in out[key]]
            else:
                merged = as_mapping(out[key])
                merged.update(as_mapping(value))
                out[key] = merged
        elif key in APPEND_KEYS and isinstance(value, list) and isinstance(out[key], list):
            out[key] = out[key] + [v for v in value if v not in out[key]]
        elif isinstance(value, dict) and isinstance(out[key], dict):
            merged = dict(out[key])
            merged.update(value)
            out[key] = merged
        else:
            out[key] = value
    return out


@record
class ServiceDef:
    """Where a service is written: the file and the service's mapping node in it."""

    file: ComposeFile
    node: MappingNode


@record
class Service:
    """A service of the merged project: its data with files, ``extends`` and ``include`` merged."""

    name: str
    data: dict
    defs: list[ServiceDef] = field(default_factory=list)  # in editable files, merge order
    inherited: dict[str, str] = field(default_factory=dict)  # key -> where it comes from (extends/include)
    readonly_reason: str | None = None  # set when no editable file defines the service
    extended_by: list[str] = field(default_factory=list)  # services that extend this one
    origin_dir: str | None = None  # folder its relative paths are relative to (an included file's)
    extends_resolved: bool = False

    @property
    def editable(self) -> bool:
        return self.readonly_reason is None and bool(self.defs)


@record
class Project:
    """The compose files of one project merged as Compose merges them."""

    files: list[ComposeFile]
    services: dict[str, Service]
    networks: dict[str, Any]  # merged top-level networks (name -> definition or None)
    directory: str
    env: dict[str, str] = field(default_factory=dict)
    configs: dict[str, Any] = field(default_factory=dict)  # merged top-level configs (name -> definition)
    extra_files: list[ComposeFile] = field(default_factory=list)  # included / extended, never edited
    notes: list[str] = field(default_factory=list)  # what could not be read, for the summary

    @property
    def name(self) -> str:
        return " + ".join(f.path for f in self.files)



def read_dotenv(directory: str, reader: FileReader | None = None) -> dict[str, str]:
    """Variables of the ``.env`` file Compose reads for interpolation (size-capped, never executed)."""
    return read_env_file_safe(os.path.join(directory, ".env"), reader or FileReader(directory)) or {}


def command_texts(data: dict) -> list[tuple[str, str]]:
    """("command" | "entrypoint" | "healthcheck", text) of a service, list forms joined by spaces."""
    out: list[tuple[str, str]] = []
    hc = untag(data.get("healthcheck"))
    for where, value in (("command", data.get("command")), ("entrypoint", data.get("entrypoint")),
                         ("healthcheck", hc.get("test") if isinstance(hc, dict) else None)):
        value = untag(value)
        if isinstance(value, list):
            out.append((where, " ".join(str(untag(x)) for x in value)))
        elif value is not None:
            out.append((where, str(value)))
    return out


def _extends_source(svc: dict) -> tuple[str, str | None] | None:
    ext = untag(svc.get("extends"))
    if isinstance(ext, str):
        return ext, None
    if isinstance(ext, dict) and isinstance(ext.get("service"), str):
        f = ext.get("file")
        return ext["service"], f if isinstance(f, str) else None
    return None


def build_project(files: list[ComposeFile], max_bytes: int, env: dict[str, str] | None = None,
                  extra: list[ComposeFile] | None = None, reader: FileReader | None = None) -> Project:
    """Merge files into a project. ``env`` and ``extra`` (included/extended files already read)
    let a re-build after editing reuse what the first build read; ``reader``, a reader of the
    project's folder that the analysis goes on using."""
    directory = files[0].directory
    project = Project(files=files, services={}, networks={}, directory=directory,
                      env=read_dotenv(directory, reader) if env is None else env)
    cache: dict[str, ComposeFile] = {cf.source.real_path: cf for cf in extra or [] if cf.source.real_path}
    project.extra_files.extend(extra or [])
    for cf in files:
        nodes = cf.service_nodes()
        services = untag(cf.data.get("services")) or {}
        for name, svc in services.items():
            name = str(name)
            svc = untag(svc) or {}
            if name in project.services:
                current = project.services[name]
                current.data = merge_service(current.data, svc)
            else:
                current = Service(name=name, data=merge_service({}, svc))  # honours !reset / !override
                project.services[name] = current
            if name in nodes:
                current.defs.append(ServiceDef(cf, nodes[name]))
        for name, net in (untag(cf.data.get("networks")) or {}).items():
            name = str(name)
            net = untag(net)
            prev = project.networks.get(name)
            if isinstance(prev, dict) and isinstance(net, dict):
                merged = dict(prev)
                merged.update(net)
                project.networks[name] = merged
            else:
                project.networks[name] = net if net is not None or name not in project.networks else prev
        for name, spec in (untag(cf.data.get("configs")) or {}).items():
            project.configs[str(name)] = untag(spec)
        _include(project, cf, max_bytes, cache)
    if len(project.services) > MAX_SERVICES:
        raise InputError(files[0].path, too_many_services(len(project.services)))
    resolver = _Extends(project, max_bytes, cache)
    for svc in list(project.services.values()):
        resolver.resolve(svc)
    return project


def _load_extra(project: Project, path: str, max_bytes: int, cache: dict[str, ComposeFile]) -> ComposeFile | None:
    real = os.path.realpath(path)
    if real in cache:
        return cache[real]
    for cf in project.files:
        if cf.source.real_path == real:
            return cf
    if not inside(real, project.directory) or not os.path.isfile(real):
        project.notes.append(f"{path}: not read (outside the project folder, or missing)")
        return None
    try:
        cf = load_file(path, max_bytes, editable=False)
    except InputError as exc:
        project.notes.append(f"{path}: not read ({exc})")
        return None
    cache[real] = cf
    project.extra_files.append(cf)
    return cf


def _include(project: Project, cf: ComposeFile, max_bytes: int, cache: dict[str, ComposeFile]) -> None:
    entries = untag(cf.data.get("include")) or []
    if not isinstance(entries, list):
        return
    for entry in entries:
        entry = untag(entry)
        paths: list[str] = []
        if isinstance(entry, str):
            paths = [entry]
        elif isinstance(entry, dict):
            p = untag(entry.get("path"))
            paths = [p] if isinstance(p, str) else [x for x in p if isinstance(x, str)] if isinstance(p, list) else []
        for p in paths:
            inc = _load_extra(project, os.path.join(cf.directory, p), max_bytes, cache)
            if inc is None:
                continue
            for name, svc in (untag(inc.data.get("services")) or {}).items():
                name = str(name)
                if name not in project.services:
                    project.services[name] = Service(
                        name=name, data=dict(untag(svc) or {}), readonly_reason=f"defined in included file {p}",
                        origin_dir=inc.directory,
                    )
            for name, net in (untag(inc.data.get("networks")) or {}).items():
                project.networks.setdefault(str(name), untag(net))
            for name, spec in (untag(inc.data.get("configs")) or {}).items():
                project.configs.setdefault(str(name), untag(spec))


class _Extends:
    """Resolves ``extends`` chains of any depth, across files, as Compose does: a cycle, a
    service that is not there or a file that does not exist is refused as Compose refuses it; a
    file outside the project folder is not read (and the summary says so)."""

    def __init__(self, project: Project, max_bytes: int, cache: dict[str, ComposeFile]):
        self.project = project
        self.max_bytes = max_bytes
        self.cache = cache
        self.done: dict[tuple[str, str], dict] = {}  # (file or "" for the project, service) -> data

    def error(self, svc: Service | None, message: str) -> InputError:
        """Refused, at the service's ``extends`` key when there is one in a file of the project."""
        for d in svc.defs if svc else []:
            loc = find_key(d.node, "extends")
            if loc is not None:
                line, col = d.file.doc.position(loc.key)
                return InputError(d.file.path, message, line, col)
        return InputError(svc.defs[0].file.path if svc and svc.defs else self.project.files[0].path, message)

    def lookup(self, key: tuple[str, str], by: tuple[str, str] | None) -> tuple[dict, str]:
        """The raw data of a service and the folder its relative ``extends: file`` starts from."""
        where, name = key
        if not where:
            svc = self.project.services.get(name)
            if svc is None:
                raise self.error(self.project.services.get(by[1]) if by else None,
                                 f"cannot extend service '{by[1] if by else name}': service '{name}' not found")
            origin = svc.defs[0].file.directory if svc.defs else svc.origin_dir or self.project.directory
            return svc.data, origin
        cf = self.cache.get(where) or next(f for f in self.project.files if f.source.real_path == where)
        data = untag((untag(cf.data.get("services")) or {}).get(name))
        if not isinstance(data, dict):
            raise InputError(cf.path, f"cannot extend service '{by[1] if by else name}': service '{name}' not "
                                      f"found in {cf.path}")
        return data, cf.directory

    def target(self, key: tuple[str, str], data: dict, origin: str) -> tuple[str, str] | None:
        """The service ``key`` extends (None: no extends, or a file that is not read)."""
        src = _extends_source(data)
        if src is None:
            return None
        base_name, base_file = src
        if base_file is None:
            return (key[0], base_name)
        path = os.path.join(origin, base_file)
        if not os.path.exists(path) and inside(path, self.project.directory):
            raise self.error(self.project.services.get(key[1]) if not key[0] else None,
                             f"service '{key[1]}' extends a file that does not exist: {base_file}")
        cf = _load_extra(self.project, path, self.max_bytes, self.cache)
        return (cf.source.real_path or path, base_name) if cf is not None else None

    def resolve(self, svc: Service) -> None:
        start = ("", svc.name)
        chain: list[tuple[tuple[str, str], dict, str]] = []
        position: dict[tuple[str, str], int] = {}
        key: tuple[str, str] | None = start
        by: tuple[str, str] | None = None
        while key is not None and key not in self.done:
            if key in position:
                names = [k[1] for k, _, _ in chain[position[key]:]] + [key[1]]
                raise self.error(svc, "circular extends: " + " -> ".join(names) + " (Compose refuses it)")
            position[key] = len(chain)
            data, origin = self.lookup(key, by)
            chain.append((key, data, origin))
            by, key = key, self.target(key, data, origin)
        base = self.done.get(key) if key is not None else None
        base_key = key
        for key, data, _ in reversed(chain):
            merged = data
            if base is not None and base_key is not None:
                own = {k: v for k, v in data.items() if k != "extends"}
                merged = merge_service({k: v for k, v in base.items() if k != "extends"}, own)
                merged["extends"] = data["extends"]
                if not key[0]:
                    current = self.project.services[key[1]]
                    where = f"service {base_key[1]}" if not base_key[0] else \
                        f"service {base_key[1]} in {_extends_source(data)[1]}"  # type: ignore[index]
                    for k in base:
                        if k not in own and k != "extends":
                            current.inherited[k] = where
                    if not base_key[0]:
                        self.project.services[base_key[1]].extended_by.append(key[1])
            self.done[key] = merged
            if not key[0]:
                self.project.services[key[1]].data = merged
                self.project.services[key[1]].extends_resolved = True
            base, base_key = merged, key
