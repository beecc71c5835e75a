"""The file's own style, so that new fragments look like the lines around them.

Indentation step of mappings, offset of ``-`` under a key, the quote character, the line ending:
each measured from the document (the nearest block first, the whole file second, a common default
last). New scalars that YAML 1.1 would read as something else (yes/no/on/off, numbers, ``22:22``)
are quoted.
"""

from __future__ import annotations

import re
from collections import Counter

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hardener.textedit import Lines
from hardener.yamlload import iter_nodes

PLAIN_SAFE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
# Also plain, for values the tool writes such as URLs and image references: no space, no flow
# indicator, no ": " or " #", not starting with an indicator, and not something YAML 1.1 would
# read as a number or a base-60 value (the ports "22:22").
PLAIN_VALUE = re.compile(r"^[A-Za-z_./][A-Za-z0-9_./:=@+\-]*$")
NUMERIC_LIKE = re.compile(r"^[0-9+.\-][0-9_:.eE+\-]*$")
YAML11_SPECIAL = frozenset(
    "y n yes no on off true false null ~ Y N YES NO ON OFF TRUE FALSE NULL Yes No On Off True False Null".split()
)


class Style:
    def __init__(self, root: Node, text: str, newline: str):
        self.text = text
        self.newline = newline
        self.lines = Lines(text)
        steps: Counter[int] = Counter()
        offsets: Counter[int] = Counter()
        quotes: Counter[str] = Counter()
        for node in iter_nodes(root):
            if isinstance(node, MappingNode):
                for k, v in node.value:
                    if isinstance(v, MappingNode) and not v.flow_style and v.value and self.line(v) > self.line(k):
                        steps[self.column(v.value[0][0]) - self.column(k)] += 1
                    if isinstance(v, SequenceNode) and not v.flow_style and v.value:
                        offsets[dash_column(v, text) - self.column(k)] += 1
            elif isinstance(node, ScalarNode) and node.style in ("'", '"'):
                quotes[node.style] += 1
        self._flow_networks: bool | None = None
        self._steps: dict[int, int] = {}  # id(mapping) -> its indentation step (see block_mapping_step)
        self.map_step = _mode(steps, 2, lambda s: s > 0)
        self.seq_offset = _mode(offsets, 2, lambda s: s >= 0)
        self.quote = "'" if quotes["'"] > quotes['"'] else '"'
        # A whole-document flow mapping whose keys are double-quoted is JSON: new keys and
        # strings are double-quoted too, so that it stays JSON.
        self.json = (isinstance(root, MappingNode) and bool(root.flow_style) and bool(root.value)
                     and getattr(root.value[0][0], "style", None) == '"')
        if self.json:
            self.quote = '"'

    def line(self, node: Node) -> int:
        return self.lines.line_of(node.start_mark.index)

    def column(self, node: Node) -> int:
        return self.lines.column_of(node.start_mark.index)

    def flow_networks(self, services) -> bool:
        """Are services' ``networks`` lists written in flow style here? (the first one decides)"""
        if self._flow_networks is None:
            self._flow_networks = False
            for svc in services:
                for k, v in svc.value:
                    if k.value == "networks" and isinstance(v, SequenceNode):
                        self._flow_networks = bool(v.flow_style)
                        return self._flow_networks
        return self._flow_networks

    def block_mapping_step(self, mapping: MappingNode) -> int:
        """Indentation step used inside ``mapping`` (worked out once per mapping: the tree does not
        change, and thousands of empty network definitions are each marked internal in turn)."""
        step = self._steps.get(id(mapping))
        if step is None:
            step = self._steps[id(mapping)] = self._block_mapping_step(mapping)
        return step

    def _block_mapping_step(self, mapping: MappingNode) -> int:
        for k, v in mapping.value:
            if isinstance(v, MappingNode) and not v.flow_style and v.value and self.line(v) > self.line(k):
                step = self.column(v.value[0][0]) - self.column(k)
                if step > 0:
                    return step
        return self.map_step

    def block_seq_offset(self, mapping: MappingNode) -> int:
        """Column of ``-`` relative to its key, as the sequences in ``mapping`` have it."""
        counts: Counter[int] = Counter()
        for k, v in mapping.value:
            if isinstance(v, SequenceNode) and not v.flow_style and v.value:
                counts[dash_column(v, self.text) - self.column(k)] += 1
        return _mode(counts, self.seq_offset, lambda s: s >= 0)

    def scalar(self, value: str | bool | int | None, force_quote: bool = False, quote: str | None = None) -> str:
        if value is True:
            return "true"
        if value is False:
            return "false"
        if value is None:
            return ""
        if isinstance(value, int):
            return str(value)
        q = quote or self.quote
        if self.json:
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if not force_quote and value not in YAML11_SPECIAL and (
                PLAIN_SAFE.match(value) or (PLAIN_VALUE.match(value) and not value.endswith(":")
                                            and not NUMERIC_LIKE.match(value))):
            return value
        if q == "'":
            return "'" + value.replace("'", "''") + "'"
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dash_column(seq: SequenceNode, text: str) -> int:
    """Column of the ``-`` of a block sequence's first item (its node may start at a tag)."""
    item = seq.value[0]
    line_start = text.rfind("\n", 0, item.start_mark.index) + 1
    dash = text.rfind("-", line_start, item.start_mark.index)
    if dash >= 0:
        return dash - line_start
    seq_start = seq.start_mark.index
    return seq_start - (text.rfind("\n", 0, seq_start) + 1)


def _mode(counter: Counter, default: int, ok) -> int:
    for value, _ in counter.most_common():
        if ok(value):
            return value
    return default
