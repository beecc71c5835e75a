"""Parse YAML once into a node tree with exact source offsets, and build plain data from it.

The node tree comes from ruamel.yaml's composer: the C-accelerated one from ruamel.yaml.clib when
it is installed (about 11 times faster, and like Docker Compose it accepts a tab before a comment),
the pure-Python one otherwise. Node marks give character offsets into the text, which is what the
editor splices at.

Building data from nodes is done here rather than by a YAML constructor so that hostile input is
refused before anything walks it: the expanded size of the document (aliases counted every time
they are used), the number of alias uses and the nesting depth are bounded, recursive aliases are
rejected, and any tag other than the standard ones (``!reset``, ``!override``,
``!!python/object/apply:...``) is kept inertly as a ``Tagged`` value instead of being acted upon.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import MappingEndEvent, MappingStartEvent, SequenceEndEvent, SequenceStartEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from hardener.errors import InputError

try:  # the C extension (ruamel.yaml.clib)
    from _ruamel_yaml import CParser as _CParser  # noqa: F401

    HAVE_CLIB = True
except ImportError:  # pragma: no cover - depends on the installation
    HAVE_CLIB = False

YAML_TAG = "tag:yaml.org,2002:"
MERGE_TAG = YAML_TAG + "merge"
STANDARD_TAGS = frozenset(
    YAML_TAG + t for t in ("str", "int", "float", "bool", "null", "seq", "map", "merge", "timestamp", "binary")
)


@dataclass(frozen=True)
class Limits:
    max_depth: int = 64  # nesting of collections
    max_nodes: int = 1_000_000  # nodes after expanding aliases
    # Past this many expanded nodes, the share reached only through aliases must fall (as in
    # go-yaml, which Compose uses): from 99% at 400,000 nodes towards 10% at 4,000,000.
    alias_ratio_from: int = 400_000
    max_alias_uses: int = 100_000
    # More "[" and "{" than this, and the exact depth is checked from parser events before the
    # composer runs: the C composer recurses per level and overflows its stack somewhere past
    # 30,000 levels; up to this many brackets (so at most this deep) it is safe.
    max_flow_depth_prescan: int = 10_000
    max_indent_prescan: int = 1024  # columns of leading "  - " before any node


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Tagged:
    """A value carrying a non-standard tag (``!reset``, ``!override``, ``!!python/...``), kept inert."""

    tag: str
    value: Any

    def __repr__(self) -> str:
        return f"{self.tag} {self.value!r}"


def untag(value: Any) -> Any:
    """The plain value under a ``!reset`` / ``!override`` style tag."""
    return value.value if isinstance(value, Tagged) else value


@dataclass
class Document:
    """One parsed YAML document: its root node and the plain data built from it."""

    root: Node
    data: Any
    anchors_used: dict[int, int] = field(default_factory=dict)  # id(node) -> times reached (>1: aliased)


_T_STR, _T_NULL, _T_BOOL, _T_INT, _T_FLOAT, _T_MERGE, _T_SEQ, _T_MAP = (
    Tag(suffix=YAML_TAG + t) for t in ("str", "null", "bool", "int", "float", "merge", "seq", "map")
)
_SHARED_TAGS = {id(t): str(t) for t in (_T_STR, _T_NULL, _T_BOOL, _T_INT, _T_FLOAT, _T_MERGE, _T_SEQ, _T_MAP)}


def tag_of(node: Node) -> str:
    """The node's tag as a string (fast for the tags the resolver hands out)."""
    return _SHARED_TAGS.get(id(node.ctag)) or node.tag


_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_BOOLS = frozenset(("true", "True", "TRUE", "false", "False", "FALSE"))


class CoreResolver(VersionedResolver):
    """YAML 1.2 core-schema resolution, as Compose reads files, without ruamel's per-scalar
    version lookups (the resolver is the composer's hot path)."""

    def resolve(self, kind, value, implicit):  # type: ignore[override]
        if kind is ScalarNode:
            if not implicit[0]:
                return _T_STR
            if value in _NULLS:
                return _T_NULL
            c = value[0]
            if c in "0123456789+-.":
                if _INT.match(value):
                    return _T_INT
                if _FLOAT.match(value):
                    return _T_FLOAT
                return _T_STR
            if c in "tTfF" and value in _BOOLS:
                return _T_BOOL
            if value == "<<":
                return _T_MERGE
            return _T_STR
        if kind is SequenceNode:
            return _T_SEQ
        return _T_MAP


_composer_cache: dict[bool, YAML] = {}


def _yaml(pure: bool) -> YAML:
    y = _composer_cache.get(pure)
    if y is None:
        y = YAML(typ="safe", pure=pure)
        y.Resolver = CoreResolver
        _composer_cache[pure] = y
    return y


def _mark_error(path: str, exc: Exception, text: str) -> InputError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    message = f"{context}, {problem}" if context and context not in problem else problem
    if mark is None:
        return InputError(path, f"invalid YAML: {message}")
    line, column = mark.line + 1, mark.column + 1
    lines = text.splitlines()
    if 0 < line <= len(lines):
        src_line = lines[line - 1]
        indent = src_line[: len(src_line) - len(src_line.lstrip(" \t"))]
        if "\t" in indent and src_line.strip() and not src_line.lstrip(" \t").startswith("#"):
            return InputError(path, "tab character used for indentation: YAML indents with spaces only", line, indent.index("\t") + 1)
    if "expected a single document" in str(exc):
        return InputError(path, "several YAML documents in one file ('---' between them): a compose file holds one", line, column)
    return InputError(path, f"invalid YAML: {message}", line, column)


def _prescan(path: str, text: str, limits: Limits) -> None:
    """Refuse indentation so deep that the block structure could exhaust the composer's stack."""
    m = re.search(r"^[ \t\-?:]{%d,}" % limits.max_indent_prescan, text, re.M)
    if m:
        line = text.count("\n", 0, m.start()) + 1
        raise InputError(path, f"indentation deeper than {limits.max_indent_prescan} columns: refused", line, 1)


def _check_flow_depth(path: str, yaml: YAML, text: str, limits: Limits) -> None:
    """Exact nesting depth from the parser's events (iterative, unlike the composer, whose C
    recursion overflows the stack on ``[[[[...`` 30,000 levels deep), stopping at the limit."""
    depth = 0
    for event in yaml.parse(text):
        if isinstance(event, (SequenceStartEvent, MappingStartEvent)):
            depth += 1
            if depth > limits.max_depth:
                mark = event.start_mark
                raise InputError(path, f"nesting deeper than {limits.max_depth} levels: refused", mark.line + 1, mark.column + 1)
        elif isinstance(event, (SequenceEndEvent, MappingEndEvent)):
            depth -= 1


def compose_node(path: str, text: str, limits: Limits = DEFAULT_LIMITS, pure: bool | None = None) -> Node | None:
    """The root node of the single YAML document in ``text`` (None when there is no document).

    The C composer first; if it rejects the text, the pure-Python one, which follows YAML 1.2
    where libyaml does not (``ports: [8080:80]`` is valid YAML 1.2 and valid Compose)."""
    _prescan(path, text, limits)
    if pure is not None:
        attempts = [pure]
    else:
        attempts = [False, True] if HAVE_CLIB else [True]
    deep = text.count("[") + text.count("{") > limits.max_flow_depth_prescan
    first: Exception | None = None
    for use_pure in attempts:
        yaml = _yaml(use_pure)
        try:
            if deep:  # only then can flow nesting be deep enough to matter
                _check_flow_depth(path, yaml, text, limits)
            return yaml.compose(text)
        except (MarkedYAMLError, YAMLError) as exc:
            first = first or exc
        except RecursionError:
            raise InputError(path, "document nested too deeply: refused") from None
    assert first is not None
    raise _mark_error(path, first, text)


def node_position(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _scalar(node: ScalarNode) -> Any:
    if node.ctag is _T_STR:  # the common case, first
        return node.value
    tag, value = tag_of(node), node.value
    if tag not in STANDARD_TAGS:
        return value
    kind = tag[len(YAML_TAG):]
    if kind == "str":
        return value
    if kind == "null":
        return None
    if kind == "bool":
        return value.lower() in ("true", "yes", "on", "y")
    if kind == "int":
        v = value.replace("_", "")
        try:
            if v[:2].lower() in ("0x", "0o", "0b") or v[1:3].lower() in ("0x", "0o", "0b"):
                return int(v, 0)
            return int(v, 10)
        except ValueError:
            return value
    if kind == "float":
        v = value.replace("_", "").lower()
        if v in (".inf", "+.inf"):
            return float("inf")
        if v == "-.inf":
            return float("-inf")
        if v == ".nan":
            return float("nan")
        try:
            return float(v)
        except ValueError:
            return value
    return value


class _Builder:
    def __init__(self, path: str, limits: Limits):
        self.path = path
        self.limits = limits
        self.seen: dict[int, int] = {}
        self.physical = 0
        self.expanded = 0
        self.alias_uses = 0

    def fail(self, node: Node, message: str) -> InputError:
        line, col = node_position(node)
        return InputError(self.path, message, line, col)

    def measure(self, root: Node) -> None:
        """Count expanded size and alias uses over the node DAG, iteratively and in linear time."""
        size: dict[int, int] = {}
        state: dict[int, int] = {}  # 1 = on the stack, 2 = done
        stack: list[tuple[Node, int]] = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            nid = id(node)
            if depth < 0:  # post-order: children are done
                total = 1
                for child in _children(node):
                    total += size[id(child)]
                    if total > self.limits.max_nodes:
                        break
                size[nid] = total
                state[nid] = 2
                continue
            if depth > self.limits.max_depth:
                raise self.fail(node, f"document nested deeper than {self.limits.max_depth} levels: refused")
            st = state.get(nid)
            self.seen[nid] = self.seen.get(nid, 0) + 1
            if st == 1:
                raise self.fail(node, "recursive alias (an anchor that contains itself): refused")
            if st == 2:
                self.alias_uses += 1
                if self.alias_uses > self.limits.max_alias_uses:
                    raise self.fail(node, f"more than {self.limits.max_alias_uses} alias uses: refused")
                continue
            state[nid] = 1
            self.physical += 1
            stack.append((node, -depth - 1))
            for child in _children(node):
                cst = state.get(id(child))
                if cst == 1:
                    raise self.fail(child, "recursive alias (an anchor that contains itself): refused")
                stack.append((child, depth + 1))
        self.expanded = size[id(root)]
        if self.expanded > self.limits.max_nodes:
            raise self.fail(root, f"aliases expand to more than {self.limits.max_nodes} nodes (an alias bomb?): refused")
        if self.expanded > self.limits.alias_ratio_from:
            allowed = 0.99 - 0.89 * min(1.0, (self.expanded - self.limits.alias_ratio_from) / 3_600_000)
            if (self.expanded - self.physical) / self.expanded > allowed:
                raise self.fail(
                    root, f"aliases expand {self.physical} nodes into {self.expanded} (an alias bomb?): refused"
                )

    def build(self, node: Node, depth: int) -> Any:
        if isinstance(node, ScalarNode):
            value = _scalar(node)
        elif depth >= self.limits.max_depth:
            raise self.fail(node, f"document nested deeper than {self.limits.max_depth} levels: refused")
        elif isinstance(node, SequenceNode):
            value = [self.build(item, depth + 1) for item in node.value]
        elif isinstance(node, MappingNode):
            value = self.mapping(node, depth)
        else:  # pragma: no cover
            raise self.fail(node, f"unsupported YAML node {type(node).__name__}")
        tag = tag_of(node)
        if tag and tag not in STANDARD_TAGS:
            return Tagged(tag, value)
        return value

    def key(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            raise self.fail(node, "complex mapping key (a list or mapping used as a key): not supported in compose files")
        if node.ctag is _T_STR:
            return node.value
        return _scalar(node) if tag_of(node) in STANDARD_TAGS else node.value

    def mapping(self, node: MappingNode, depth: int) -> dict:
        out: dict = {}
        own: dict[Any, Node] = {}
        merged: dict = {}
        for knode, vnode in node.value:
            if knode.value == "<<" and (knode.ctag is _T_MERGE or tag_of(knode) == MERGE_TAG):
                for src in self.merge_sources(vnode):
                    for k, v in self.mapping(src, depth + 1).items():
                        merged.setdefault(k, v)
                continue
            k = self.key(knode)
            if isinstance(k, (list, dict)):  # pragma: no cover - key() refuses these
                raise self.fail(knode, "unhashable key")
            if k in own:
                line, _ = node_position(own[k])
                raise self.fail(knode, f"duplicate key '{k}' (first defined on line {line})")
            own[k] = knode
            out[k] = self.build(vnode, depth + 1)
        if merged:
            result = {k: v for k, v in merged.items() if k not in out}
            result.update(out)
            return result
        return out

    def merge_sources(self, vnode: Node) -> list[MappingNode]:
        if isinstance(vnode, MappingNode):
            return [vnode]
        if isinstance(vnode, SequenceNode) and all(isinstance(v, MappingNode) for v in vnode.value):
            return list(vnode.value)
        raise self.fail(vnode, "merge key '<<' needs a mapping or a list of mappings")


def iter_nodes(root: Node):
    """Every node of the document once (an aliased node is yielded once), depth first."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, MappingNode):
            stack.extend(v for _, v in node.value)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        out = []
        for k, v in node.value:
            out.append(k)
            out.append(v)
        return out
    return []


def build_data(path: str, root: Node, limits: Limits = DEFAULT_LIMITS, has_aliases: bool = True) -> Document:
    b = _Builder(path, limits)
    if has_aliases:
        b.measure(root)  # aliases can expand exponentially: bound them before building
    data = b.build(root, 0)
    return Document(root=root, data=data, anchors_used=b.seen)


def load(path: str, text: str, limits: Limits = DEFAULT_LIMITS, measured: bool = False) -> Document:
    """Parse and build. ``measured``: the text is the tool's own edit of a text that passed the
    alias limits already (edits add no aliases), so the expansion is not measured again."""
    root = compose_node(path, text, limits)
    if root is None:
        raise InputError(path, "no YAML document: the file is empty or holds only comments", 1, 1)
    return build_data(path, root, limits, has_aliases="*" in text and not measured)
