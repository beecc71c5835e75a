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
import warnings
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from hardener.errors import EmptyInput, InputError, ParserLimit
from hardener.lines import position
from hardener.record import field, record, replace

try:  # the C extension (ruamel.yaml.clib)
    from _ruamel_yaml import CParser as _CParser

    HAVE_CLIB = True
except ImportError:  # pragma: no cover - depends on the installation
    HAVE_CLIB = False

YAML_TAG = "tag:yaml.org,2002:"
MERGE_TAG = YAML_TAG + "merge"
STR_TAG = YAML_TAG + "str"
STANDARD_TAGS = frozenset(
    YAML_TAG + t for t in ("str", "int", "float", "bool", "null", "seq", "map", "merge", "timestamp", "binary")
)


@record(frozen=True)
class Limits:
    """Resource bounds, so that any file under ``--max-size`` is parsed (or refused) in bounded
    time and memory. Ordinary files are far below them: the largest real compose files have a
    few thousand nodes."""

    max_depth: int = 64  # nesting of collections
    # Nodes of the document once aliases and merge keys are expanded: what everything after the
    # parser walks. When a cheap count of the text's indicators says the file could be over it,
    # checked as the composer resolves each node (or from the parser's events before, for a text
    # with many explicit tags or aliases), and always while building.
    max_nodes: int = 250_000
    max_alias_uses: int = 100_000
    # More "[" and "{" than this, and the exact depth is checked from parser events before the
    # composer runs: the C composer recurses per level and overflows its stack somewhere past
    # 30,000 levels; up to this many brackets (so at most this deep) it is safe.
    max_flow_depth_prescan: int = 10_000
    max_indent_prescan: int = 1024  # columns of leading "  - " before any node
    # The pure-Python composer (tried when libyaml rejects YAML 1.2 syntax such as [8080:80]) is
    # about 11 times slower (some 6 seconds a megabyte): it is only tried on texts this long at most.
    max_chars_pure: int = 256 * 1024


DEFAULT_LIMITS = Limits()


@record(frozen=True)
class Tagged:
    """A value carrying a non-standard tag (``!reset``, ``!override``, ``!!python/...``), kept inert."""

    tag: str
    value: Any

    def __repr__(self) -> str:
        return f"{self.tag} {self.value!r}"


def untag(value: Any) -> Any:
    """The plain value under a ``!reset`` / ``!override`` style tag."""
    return value.value if isinstance(value, Tagged) else value


@record
class Document:
    """One parsed YAML document: its root node and the plain data built from it."""

    root: Node
    data: Any
    anchors_used: dict[int, int] = field(default_factory=dict)  # id(node) -> times reached (>1: aliased)
    text: str = ""

    def position(self, node: Node) -> tuple[int, int]:
        """1-based line and column of a node (see hardener.lines)."""
        return node_position(node, self.text)


_T_STR, _T_NULL, _T_BOOL, _T_INT, _T_FLOAT, _T_MERGE, _T_SEQ, _T_MAP = (
    Tag(suffix=YAML_TAG + t) for t in ("str", "null", "bool", "int", "float", "merge", "seq", "map")
)
_SHARED_TAGS = {id(t): str(t) for t in (_T_STR, _T_NULL, _T_BOOL, _T_INT, _T_FLOAT, _T_MERGE, _T_SEQ, _T_MAP)}


def tag_of(node: Node) -> str:
    """The node's tag as a string (fast for the tags the resolver hands out)."""
    return _SHARED_TAGS.get(id(node.ctag)) or node.tag


_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
# Plain scalars the core schema reads as strings but go-yaml (Compose) reads as numbers or dates:
# 1_000, 0b101, 0x_1f, 2024-01-31 (only tested on keys, where Compose refuses anything but strings).
_GO_NON_STRING = re.compile(r"^(?:[-+]?(?:0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?)"
                            r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?)$")
_NUMBER_START = frozenset("0123456789+-.")
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


if HAVE_CLIB:

    class _CLoader(_CParser, CoreResolver):  # type: ignore[misc,valid-type]
        """libyaml's composer with the core-schema resolver, as a class made once: ruamel.yaml's
        ``YAML.compose`` makes a new loader class (and a constructor nothing here uses) for
        every document."""

        def __init__(self, stream: str):
            _CParser.__init__(self, stream)
            self._parser = self._composer = self
            CoreResolver.__init__(self, loadumper=self)


    class _CountingCLoader(_CLoader):
        """The C composer, stopping once it has resolved ``budget`` nodes (every node but an
        alias or one with an explicit tag: see :func:`compose_node` for the budget)."""

        def __init__(self, stream: str, budget: int):
            _CLoader.__init__(self, stream)
            self.budget = budget

        def resolve(self, kind, value, implicit):  # type: ignore[override]
            self.budget -= 1
            if self.budget < 0:
                raise _OverBudget
            return CoreResolver.resolve(self, kind, value, implicit)


class _OverBudget(Exception):
    """The C composer resolved more nodes than its budget (see _CountingCLoader)."""


def _compose(yaml: YAML, use_pure: bool, text: str, budget: int | None = None) -> Node | None:
    if use_pure or not HAVE_CLIB:
        # an anchor defined again is valid YAML 1.2 (an alias names the latest one, as Compose
        # reads it; libyaml refuses it, so such a text comes here): not a warning for the user
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReusedAnchorWarning)
            return yaml.compose(text)
    loader = _CLoader(text) if budget is None else _CountingCLoader(text, budget)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _mark_error(path: str, exc: Exception, text: str) -> InputError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    message = f"{context}, {problem}" if context and context not in problem else problem
    if mark is None:
        return InputError(path, f"invalid YAML: {message}")
    offset = min(max(mark.index, 0), len(text))
    line, column = position(text, offset)
    src_line = text[offset - column + 1:].split("\n", 1)[0].rstrip("\r")
    indent = src_line[: len(src_line) - len(src_line.lstrip(" \t"))]
    if "\t" in indent and (column <= len(indent) + 1 or "tab" in message):
        what = "a comment line indented with a tab" if src_line.lstrip(" \t").startswith("#") else \
            "a line holding only a tab" if not src_line.strip() else "tab character used for indentation"
        return InputError(path, f"{what}: YAML indents with spaces only (Compose refuses it too)",
                          line, indent.index("\t") + 1)
    if "expected a single document" in str(exc):
        return InputError(path, "several YAML documents in one file ('---' between them): a compose file holds one", line, column)
    return InputError(path, f"invalid YAML: {message}", line, column)


def _prescan(path: str, text: str, limits: Limits) -> None:
    """Refuse indentation so deep that the block structure could exhaust the composer's stack."""
    m = re.search(r"^[ \t\-?:]{%d,}" % limits.max_indent_prescan, text, re.M)
    if m:
        line = text.count("\n", 0, m.start()) + 1
        raise InputError(path, f"indentation deeper than {limits.max_indent_prescan} columns: refused", line, 1)


def node_bound(text: str) -> int:
    """An upper bound of the nodes the composer builds for ``text``, from its indicators: every
    node but the root needs a ':', '-', ',', '?', '[' or '{' before it (each mapping entry one ':'
    or ',' for a key, its value and at most the mapping itself; each item a '-' or ','; a flow
    collection's first entry its bracket). Overcounts (colons in URLs, dashes in words), never
    undercounts: a cheap test that spares ordinary files the exact count."""
    return 3 * (text.count(":") + text.count("?")) + 2 * (
        text.count("-") + text.count(",") + text.count("[") + text.count("{")
    ) + text.count("*") + 1


def _check_events(path: str, yaml: YAML, text: str, limits: Limits, count: bool) -> None:
    """Exact nesting depth and node count from the parser's events: iterative (unlike the
    composer, whose C recursion overflows the stack on ``[[[[...`` 30,000 levels deep), in
    constant memory (the composer would hold every node first), stopping at the limit."""
    depth = 0
    nodes = 0
    for event in yaml.parse(text):
        if isinstance(event, (SequenceStartEvent, MappingStartEvent)):
            depth += 1
            nodes += 1
            if depth > limits.max_depth:
                line, col = position(text, event.start_mark.index)
                raise InputError(path, f"document nested deeper than {limits.max_depth} levels: refused", line, col)
        elif isinstance(event, (SequenceEndEvent, MappingEndEvent)):
            depth -= 1
            continue
        elif isinstance(event, (ScalarEvent, AliasEvent)):
            nodes += 1
        else:
            continue
        if count and nodes > limits.max_nodes:
            line, col = position(text, event.start_mark.index)
            raise InputError(path, too_many_nodes(limits), line, col)


def too_many_nodes(limits: Limits) -> str:
    return (f"the document has more than {limits.max_nodes:,} YAML nodes, the tool's resource limit "
            "(split the file: Compose merges several with -f)")


def compose_node(path: str, text: str, limits: Limits = DEFAULT_LIMITS, pure: bool | None = None,
                 edited: bool = False) -> Node | None:
    """The root node of the single YAML document in ``text`` (None when there is no document).

    The C composer first; if it rejects the text, the pure-Python one, which follows YAML 1.2
    where libyaml does not (``ports: [8080:80]`` is valid YAML 1.2 and valid Compose).
    ``edited``: the text is the tool's own edit of a text whose depth and size were checked
    already (the edit adds a few shallow nodes per service), so they are not checked again from
    the parser's events (building still counts the nodes)."""
    _prescan(path, text, limits)
    if pure is not None:
        attempts = [pure]
    else:
        attempts = [False, True] if HAVE_CLIB else [True]
    # (a text too short to hold that many brackets, or indicators, is not counted)
    deep = not edited and len(text) > limits.max_flow_depth_prescan and \
        text.count("[") + text.count("{") > limits.max_flow_depth_prescan
    many = not edited and 3 * len(text) + 1 > limits.max_nodes and node_bound(text) > limits.max_nodes
    # Over the node bound, the C composer counts the nodes it resolves as it goes. It does not
    # resolve a node with an explicit tag, nor an alias (which the events count as a node): each
    # of those has its "!" or "*" in the text. While the nodes it resolved and those marks stay
    # within the limit, so do the nodes the events would count; past that, they are counted from
    # the events, which refuses the text where it passes the limit, as before. (A text with many
    # marks is counted from the events first.)
    marks = text.count("!") + text.count("*") if many and not deep else 0
    first: Exception | None = None
    for use_pure in attempts:
        if use_pure and first is not None and len(text) > limits.max_chars_pure:
            error = _mark_error(path, first, text)
            raise ParserLimit(path, error.message + (
                f" (the YAML 1.2 parser, which accepts some syntax libyaml refuses, is only tried on "
                f"files up to {limits.max_chars_pure // 1024} KiB)"), error.line, error.column)
        yaml = _yaml(use_pure)
        counted = many and not deep and not use_pure and HAVE_CLIB and marks <= limits.max_nodes // 2
        try:
            if deep or many and not counted:  # only then can nesting or size be enough to matter
                _check_events(path, yaml, text, limits, many)
            try:
                return _compose(yaml, use_pure, text, limits.max_nodes - marks if counted else None)
            except _OverBudget:
                _check_events(path, yaml, text, limits, True)
                return _compose(yaml, use_pure, text)  # within the limit after all
        except (MarkedYAMLError, YAMLError) as exc:
            first = first or exc
        except RecursionError:
            raise InputError(path, "document nested too deeply: refused") from None
    assert first is not None
    raise _mark_error(path, first, text)


def node_position(node: Node, text: str) -> tuple[int, int]:
    """1-based line and column of a node in ``text`` (from its offset: see hardener.lines)."""
    return position(text, node.start_mark.index)


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
    def __init__(self, path: str, text: str, limits: Limits):
        self.path = path
        self.text = text
        self.limits = limits
        self.seen: dict[int, int] = {}
        self.physical = 0
        self.expanded = 0
        self.alias_uses = 0
        self.built = 0  # nodes built so far (aliases and merge keys expanded)
        self.root: Node | None = None

    def fail(self, node: Node, message: str) -> InputError:
        line, col = node_position(node, self.text)
        return InputError(self.path, message, line, col)

    def measure(self, root: Node) -> None:
        """Count expanded size and alias uses over the node DAG, iteratively and in linear time.

        Depth first from the root: a node is entered (``depth`` > 0), its children pushed after a
        marker (``-depth - 1``) that sums their sizes once they are done. A scalar has no children,
        so its marker would be the next entry taken: it is finished where it is entered (the same
        order, without the round trip through the stack for most of the nodes)."""
        size: dict[int, int] = {}
        state: dict[int, int] = {}  # 1 = on the stack, 2 = done
        seen = self.seen
        limits = self.limits
        max_depth, max_nodes, max_alias_uses = limits.max_depth, limits.max_nodes, limits.max_alias_uses
        stack: list[tuple[Node, int]] = [(root, 1)]
        push, pop = stack.append, stack.pop
        while stack:
            node, depth = pop()
            nid = id(node)
            if depth < 0:  # post-order: children are done
                total = 1
                for child in _children(node):
                    total += size[id(child)]
                    if total > max_nodes:
                        break
                size[nid] = total
                state[nid] = 2
                continue
            if depth > max_depth:
                raise self.fail(node, f"document nested deeper than {max_depth} levels: refused")
            st = state.get(nid)
            seen[nid] = seen.get(nid, 0) + 1
            if st == 1:
                raise self.fail(node, "recursive alias (an anchor that contains itself): refused")
            if st == 2:
                self.alias_uses += 1
                if self.alias_uses > max_alias_uses:
                    raise self.fail(node, f"more than {max_alias_uses} alias uses: refused")
                continue
            self.physical += 1
            if type(node) is ScalarNode:  # no children: done at once
                size[nid] = 1
                state[nid] = 2
                continue
            state[nid] = 1
            push((node, -depth - 1))
            for child in _children(node):
                if state.get(id(child)) == 1:
                    raise self.fail(child, "recursive alias (an anchor that contains itself): refused")
                push((child, depth + 1))
        self.expanded = size[id(root)]
        if self.expanded > max_nodes:
            raise self.fail(
                root, f"aliases and merge keys expand the document's {self.physical:,} nodes to more than "
                f"{max_nodes:,}, the tool's resource limit: refused"
            )

    def build(self, node: Node, depth: int) -> Any:
        self.built += 1
        if self.built > self.limits.max_nodes:
            raise self.fail(node, too_many_nodes(self.limits))
        if node.ctag is _T_STR and type(node) is ScalarNode:
            return node.value  # the common case: a string with the standard tag
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
        self.built += 1
        if node.ctag is _T_STR:
            value = node.value
            if not node.style and value[:1] in _NUMBER_START and _GO_NON_STRING.match(value):
                raise self.non_string_key(node)
            return value
        tag = tag_of(node)
        if tag in STANDARD_TAGS and tag not in (MERGE_TAG, STR_TAG):
            raise self.non_string_key(node)
        return node.value

    def non_string_key(self, node: ScalarNode) -> InputError:
        """Compose refuses keys that YAML reads as a number, a boolean, null or a date."""
        where = _path_to(self.root, node) if self.root is not None else ""
        shown = node.value if node.value else "null"
        return self.fail(node, f"non-string key {shown}{' in ' + where if where else ''}: Compose refuses keys "
                               f"that are numbers, booleans, null or dates (quote it: '{node.value}')")

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
                line, _ = node_position(own[k], self.text)
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


def _path_to(root: Node, target: Node) -> str:
    """Dotted path of the mapping holding ``target`` (a key node), for messages: services.web.labels."""
    stack: list[tuple[Node, tuple[str, ...]]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for k, v in node.value:
                if k is target:
                    return ".".join(path) or "the top level"
                stack.append((v, path + (str(k.value),)))
        elif isinstance(node, SequenceNode):
            stack.extend((item, path + (f"[{i}]",)) for i, item in enumerate(node.value))
    return ""


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


def build_data(path: str, root: Node, text: str, limits: Limits = DEFAULT_LIMITS, has_aliases: bool = True) -> Document:
    b = _Builder(path, text, limits)
    b.root = root
    if has_aliases:
        b.measure(root)  # aliases can expand exponentially: bound them before building
    data = b.build(root, 0)
    return Document(root=root, data=data, anchors_used=b.seen, text=text)


def load(path: str, text: str, limits: Limits = DEFAULT_LIMITS, measured: bool = False) -> Document:
    """Parse and build. ``measured``: the text is the tool's own edit of a text that passed the
    limits already (edits add no aliases, and a few nodes per service), so the expansion is not
    measured again, and the node limit and the size up to which the YAML 1.2 parser is tried
    have room for what the edit added."""
    if measured:
        limits = replace(limits, max_nodes=limits.max_nodes * 3 // 2, max_chars_pure=limits.max_chars_pure * 2)
    root = compose_node(path, text, limits, edited=measured)
    if root is None:
        if not text:
            raise EmptyInput(path, "empty file: there is no compose document to harden", 1, 1)
        raise EmptyInput(path, "no YAML document: the file is empty or holds only comments", 1, 1)
    return build_data(path, root, text, limits, has_aliases="*" in text and not measured)
