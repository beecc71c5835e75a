"""Realise a plan as text edits spliced into the original files.

Each change is located with the composer's node marks and rendered in the indentation, quoting
and line ending of the block it lands in; every other byte stays as it was. Keys that arrive
through a merge key (``<<: *anchor``) are edited in the anchor when every user of the anchor gets
the same change, and otherwise overridden per service. Nothing is written here: the result is
the new text of each file, which the verifier checks before anything touches the disk.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hardener.compose import ComposeFile, KeyIndex, KeyLoc, Service, find_key, merge_sources, untag
from hardener.plan import ABSENT, Plan, ServicePlan
from hardener.record import field, record, replace
from hardener.style import Style, dash_column
from hardener.yamlload import MERGE_TAG, iter_nodes, tag_of
from hardener.textedit import Lines, Splice, apply, content_end, inline_comment, keep_missing_final_newline


class EditError(Exception):
    """The change cannot be written into this file's shape. With ``service`` set, the pipeline
    plans again leaving that service as it is; otherwise the file is refused."""

    def __init__(self, message: str, service: str | None = None):
        super().__init__(message)
        self.service = service


class RouteError(EditError):
    """The egress gateway's proxy variables cannot be written for this service: the pipeline
    plans again without routing it (its networks are still hardened)."""


@record
class FileEdit:
    """The edited text of one file and what changed in it."""

    file: ComposeFile
    new_text: str
    notes: list[str] = field(default_factory=list)
    splices: list[Splice] = field(default_factory=list)  # what changed, for the diff
    touched_anchors: set[str] = field(default_factory=set)  # top-level keys holding edited anchors

    @property
    def changed(self) -> bool:
        return self.new_text != self.file.source.text


class FileEditor:
    def __init__(self, cf: ComposeFile):
        self.cf = cf
        self.text = cf.source.text
        self.nl = cf.source.newline
        self.lines = Lines(self.text)
        self.style = Style(cf.root, self.text, self.nl)
        self.splices: list[Splice] = []
        self.notes: list[str] = []
        self.touched_anchors: set[str] = set()
        self._order = 0

    # --- low-level -----------------------------------------------------------------------------
    def splice(self, start: int, end: int, text: str, rank: int = 1) -> None:
        self._order += 1
        self.splices.append(Splice(start, end, text, self._order, rank))

    def result(self) -> FileEdit:
        splices = self.splices
        end = len(self.text)
        if self.text and not self.text.endswith("\n"):
            # lines inserted after a last line that has no line break: it gets one, before the
            # first of them in the order they are applied (the final one is dropped again below)
            at_end = [s for s in splices if s.start == s.end == end]
            if at_end:
                first = min(at_end, key=lambda s: (s.rank, s.order))
                splices = [replace(s, text=self.nl + s.text) if s is first else s for s in splices]
        splices = keep_missing_final_newline(self.text, splices, self.nl)
        return FileEdit(self.cf, apply(self.text, splices), self.notes, splices, self.touched_anchors)

    def line(self, node: Node) -> int:
        """0-based line of a node's start, in the one line model (hardener.lines), never the
        parser's own count (it also breaks lines at U+2028, U+0085, a lone CR...)."""
        return self.lines.line_of(node.start_mark.index)

    def column(self, node: Node) -> int:
        """0-based column of a node's start, counted from the start of its line."""
        return self.lines.column_of(node.start_mark.index)

    def key_line_prefix_ok(self, key: Node) -> bool:
        ln = self.line(key)
        return not self.text[self.lines.start(ln):key.start_mark.index].strip(" ")

    def last_line(self, node: Node) -> int:
        return self.lines.line_of(max(content_end(node, self.text) - 1, node.start_mark.index))

    def join_lines(self, lines: list[str]) -> str:
        return "".join(line + self.nl for line in lines)

    def after_block_comments(self, line: int, indent: int) -> int:
        """The last of the comment lines right after ``line`` that are indented deeper than
        ``indent``: they belong to the block that ends there (a commented-out list item)."""
        ln = line + 1
        while ln < len(self.lines) and self.lines.is_comment(ln) and self.lines.indent(ln) > indent:
            line = ln
            ln += 1
        return line

    def insert_after_line(self, line: int, lines: list[str], rank: float = 1) -> None:
        """Insert whole lines after ``line`` (a missing final newline stays missing: see result)."""
        pos = self.lines.end(line)
        self.splice(pos, pos, self.join_lines(lines), rank)

    # --- rendering -----------------------------------------------------------------------------
    def render_pair(self, key: str, value: Any, indent: int, step: int, seq_off: int, flow_lists: bool = False,
                    quote_items: bool = False, item_quote: str | None = None) -> list[str]:
        pad = " " * indent
        k = self.style.scalar(key)
        if isinstance(value, dict):
            if not value:
                return [f"{pad}{k}: {{}}"]
            out = [f"{pad}{k}:"]
            for ck, cv in value.items():
                out.extend(self.render_pair(str(ck), cv, indent + step, step, seq_off))
            return out
        if isinstance(value, list):
            items = [_flow(untag(v), self.style) if isinstance(untag(v), dict) else
                     self.style.scalar(str(untag(v)) if not isinstance(untag(v), (bool, int)) else untag(v),
                                       force_quote=quote_items, quote=item_quote) for v in value]
            if not items:
                return [f"{pad}{k}: []"]
            if flow_lists:
                return [f"{pad}{k}: [{', '.join(items)}]"]
            return [f"{pad}{k}:"] + [f"{' ' * (indent + seq_off)}- {i}" for i in items]
        if value is None:
            return [f"{pad}{k}:"]
        if isinstance(value, str) and "\n" in value:
            return [f"{pad}{k}: |"] + block_lines(value, " " * (indent + step))
        return [f"{pad}{k}: {self.style.scalar(value)}"]

    # --- mapping operations --------------------------------------------------------------------
    def mapping_indent(self, mapping: MappingNode) -> int:
        if not mapping.value:
            raise EditError("empty mapping")
        return self.column(mapping.value[0][0])

    def add_pair(self, mapping: MappingNode, key: str, value: Any, blank_before: bool = False, **kw: Any) -> None:
        """Add ``key: value`` at the end of a mapping (block, or flow such as ``{image: x}``)."""
        if mapping.flow_style:
            self.flow_add(mapping, [f"{self.style.scalar(key)}: {_flow(value, self.style, kw.get('quote_items', False))}"])
            return
        indent = self.mapping_indent(mapping)
        step = self.style.block_mapping_step(mapping)
        seq_off = self.style.block_seq_offset(mapping)
        lines = self.render_pair(key, value, indent, step, seq_off, **kw)
        if blank_before:
            lines = [""] + lines
        self.insert_after_line(self.after_block_comments(self.last_line(mapping), indent), lines, rank=-indent)

    def flow_add(self, mapping: MappingNode, pairs: list[str]) -> None:
        """Add rendered ``key: value`` pairs at the end of a flow mapping, inside its braces: on
        the last entry's line when the mapping is on one line, else each on a line of its own at
        the entries' indentation (a whole JSON-style document, for instance)."""
        start, end = mapping.start_mark.index, mapping.end_mark.index
        close = self.text.rfind("}", start, end)
        if close < 0:
            raise EditError(f"cannot find the end of the flow mapping on line {self.line(mapping) + 1}")
        if not mapping.value:
            pad = " " if self.text[start + 1:close].startswith(" ") else ""
            self.splice(start + 1, start + 1, pad + ", ".join(pairs) + pad)
            return
        last_key, last_value = mapping.value[-1]
        last_end = max(content_end(last_value, self.text), last_key.end_mark.index)
        between = self.text[last_end:close]
        if self.line(mapping) == self.lines.line_of(close) or "," in between.split("#", 1)[0]:
            if "," in between.split("#", 1)[0]:  # a trailing comma already ends the last entry
                comma = last_end + between.index(",") + 1
                if "\n" in self.text[comma:close] and self.key_line_prefix_ok(last_key):
                    pos = self.lines.end(self.lines.line_of(comma))  # one entry a line, each with its comma
                    self.splice(pos, pos, self.join_lines([" " * self.column(last_key) + p + "," for p in pairs]))
                else:
                    self.splice(comma, comma, " " + ", ".join(pairs) + ",")
                return
            self.splice(last_end, last_end, ", " + ", ".join(pairs))
            return
        indent = self.column(last_key) if self.key_line_prefix_ok(last_key) else self.column(mapping.value[0][0])
        self.splice(last_end, last_end, ",", rank=0)
        if "\n" in between:  # the new lines go before the line of the closing brace
            pos = self.lines.end(self.lines.line_of(last_end))
            self.splice(pos, pos, self.join_lines([" " * indent + p + ("," if i < len(pairs) - 1 else "")
                                                   for i, p in enumerate(pairs)]))
        else:  # the brace closes the last entry's line: "...last}" -> "...last,\n  new}"
            self.splice(last_end, last_end, "".join(self.nl + " " * indent + p + ("," if i < len(pairs) - 1 else "")
                                                    for i, p in enumerate(pairs)))

    def replace_flow_pair(self, loc: KeyLoc, key: str | None, value: Any, **kw: Any) -> None:
        """Replace or delete ``key: value`` inside a flow mapping."""
        start, end = loc.key.start_mark.index, content_end(loc.value, self.text)
        if "#" in self.text[start:end]:
            raise EditError(f"cannot edit '{loc.key.value}' in the flow mapping on line {self.line(loc.key) + 1}: "
                            "it has comments")
        if key is not None:
            self.splice(start, end, f"{self.style.scalar(key)}: {_flow(value, self.style, kw.get('quote_items', False))}")
            return
        before = self.text[loc.holder.start_mark.index:start]
        after = self.text[end:loc.holder.end_mark.index]
        if after.lstrip(" ").startswith(","):  # "a: 1, b: 2" -> drop "a: 1, "
            comma = end + after.index(",") + 1
            line_end = self.lines.end(self.lines.line_of(end))
            if not self.text[self.lines.start(self.line(loc.key)):start].strip() and not self.text[comma:line_end].strip():
                self.splice(self.lines.start(self.line(loc.key)), line_end, "")  # the entry had its own line(s)
                return
            while comma < len(self.text) and self.text[comma] == " ":
                comma += 1
            self.splice(start, comma, "")
        elif before.rstrip().endswith(","):  # drop ", b: 2"
            comma = loc.holder.start_mark.index + before.rstrip().rindex(",")
            if "#" in self.text[comma:start]:
                raise EditError(f"cannot edit '{loc.key.value}' in the flow mapping on line {self.line(loc.key) + 1}: "
                                "it has comments")
            self.splice(comma, end, "")
        else:
            self.splice(start, end, "")

    def pair_span(self, loc: KeyLoc) -> tuple[int, int, list[str]]:
        """Span of whole lines holding a key and its value, and the comments on them to keep."""
        if not self.key_line_prefix_ok(loc.key):
            raise EditError(f"cannot edit '{loc.key.value}' on line {self.line(loc.key) + 1}: not at the start of its line")
        first = self.line(loc.key)
        last = self.last_line(loc.value) if not (_is_empty(loc.value) or self.is_alias(loc)) else first
        last = max(last, first)
        indent = self.column(loc.key)
        kept: list[str] = []
        text_lines = self.scalar_lines(loc.value) if last > first else set()
        for ln in range(first, last + 1):
            if ln in text_lines:
                continue  # "# ..." in a block scalar (a squid.conf) is its text, not a comment
            content = self.lines.content(ln)
            if self.lines.is_comment(ln):
                kept.append(content)
            else:
                c = inline_comment(content)
                if c:
                    kept.append(" " * indent + c)
        return self.lines.start(first), self.lines.end(last), kept

    def scalar_lines(self, node: Node) -> set[int]:
        """Lines that only continue a multi-line scalar under ``node``: a block scalar's text, and
        the inner lines of a quoted or plain one (its last line may end with a real comment)."""
        out: set[int] = set()
        for n in iter_nodes(node):
            if isinstance(n, ScalarNode):
                first = self.line(n)
                last = self.lines.line_of(max(n.end_mark.index - 1, n.start_mark.index))
                out.update(range(first + 1, last + 1 if n.style in ("|", ">") else last))
        return out

    def replace_pair(self, loc: KeyLoc, key: str | None, value: Any, **kw: Any) -> None:
        """Replace a key and its value with another pair (or delete it when key is None)."""
        if loc.holder.flow_style:
            self.replace_flow_pair(loc, key, value, **kw)
            return
        if key is None and len(loc.holder.value) == 1:
            self.mark_empty(loc.holder)  # the mapping's only key goes: it becomes {}
        start, end, kept = self.pair_span(loc)
        lines = list(kept)
        if key is not None:
            indent = self.column(loc.key)
            step = self.style.block_mapping_step(loc.holder)
            seq_off = self.style.block_seq_offset(loc.holder)
            lines += self.render_pair(key, value, indent, step, seq_off, **kw)
        self.splice(start, end, self.join_lines(lines))

    def is_alias(self, loc: KeyLoc) -> bool:
        """Is the value an alias (``key: *name``)? Its node then sits at the anchor, earlier on."""
        return loc.value.start_mark.index < loc.key.end_mark.index

    def shared(self, node: Node) -> bool:
        """Is this node reached more than once (an anchor that aliases use)?"""
        return self.cf.doc.anchors_used.get(id(node), 0) > 1

    def replace_alias(self, loc: KeyLoc, value: Any, quote_items: bool = False) -> None:
        """``key: *name`` becomes ``key: <the service's own value, in flow style>``."""
        colon = self.text.find(":", loc.key.end_mark.index)
        star = self.text.find("*", colon)
        line_end = self.lines.end(self.line(loc.key))
        if colon < 0 or star < 0 or star >= line_end:
            raise EditError(f"cannot find the alias after '{loc.key.value}' on line {self.line(loc.key) + 1}")
        end = star + 1
        while end < len(self.text) and not self.text[end].isspace() and self.text[end] not in ",]}":
            end += 1
        self.splice(star, end, _flow(value, self.style, quote_items))

    def mark_empty(self, mapping: MappingNode) -> None:
        """Write `` {}`` where a block mapping whose last key is deleted starts (after its anchor
        or tag, or after the parent key's colon)."""
        pos = mapping.start_mark.index
        if self.text[pos] in "&!":
            end = pos
            while end < len(self.text) and self.text[end] in "&!":
                while end < len(self.text) and not self.text[end].isspace():
                    end += 1
                while end < len(self.text) and self.text[end] == " ":
                    end += 1
            pos = len(self.text[:end].rstrip(" "))
        else:
            back = pos - 1
            while back >= 0 and self.text[back] in " \t\r\n":
                back -= 1
            if back < 0 or self.text[back] != ":":
                raise EditError(f"cannot empty the mapping on line {self.line(mapping) + 1}")
            pos = back + 1
        self.splice(pos, pos, " {}")

    def set_scalar(self, node: ScalarNode, value: Any) -> None:
        self.splice(node.start_mark.index, node.end_mark.index, self.style.scalar(value))

    def replace_empty_value(self, loc: KeyLoc, child_lines_at: int, pairs: dict[str, Any]) -> None:
        """``key:`` / ``key: ~`` / ``key: {}`` becomes ``key:`` followed by a block of pairs (in a
        flow mapping: ``key: {pairs}``)."""
        if loc.holder.flow_style:
            rendered = [f"{self.style.scalar(k)}: {_flow(v, self.style, empty='{}') if v is not None else '{}'}"
                        for k, v in pairs.items()]
            if isinstance(loc.value, MappingNode):
                self.flow_add(loc.value, rendered)
                return
            value = "{" + ", ".join(rendered) + "}"
            vstart, vend = loc.value.start_mark.index, loc.value.end_mark.index
            if vend > vstart:  # "key: null" / "key: ~"
                self.splice(vstart, vend, value)
                return
            kend = loc.key.end_mark.index  # "{key}" / "{key: }": an implicit null
            rest = self.text[kend:]
            colon = len(rest) - len(rest.lstrip(" ")) if rest.lstrip(" ").startswith(":") else -1
            if colon >= 0:
                self.splice(kend + colon + 1, kend + colon + 1, " " + value)
            else:
                self.splice(kend, kend, ": " + value)
            return
        colon = self.text.find(":", loc.key.end_mark.index)
        vend = loc.value.end_mark.index
        if colon < 0 or colon > vend and not _is_empty(loc.value):
            raise EditError(f"cannot find ':' after '{loc.key.value}' on line {self.line(loc.key) + 1}")
        if not _is_empty(loc.value) or vend > colon + 1:
            tail = self.text[colon + 1:vend]
            if tail.strip() not in ("", "~", "null", "Null", "NULL", "{}"):
                raise EditError(f"unexpected value after '{loc.key.value}'")
            self.splice(colon + 1, vend, "")
        step = self.style.map_step
        lines: list[str] = []
        for k, v in pairs.items():
            lines.extend(self.render_pair(k, v, child_lines_at, step, self.style.seq_offset))
        self.insert_after_line(self.line(loc.key), lines, rank=-child_lines_at)

    # --- sequences -----------------------------------------------------------------------------
    def edit_list(self, node: SequenceNode, remove: list[int], add: list[str], quote: bool = False) -> None:
        """Remove items (by index) and append scalar items to a list (quoted when all its items are)."""
        scalars = [i for i in node.value if isinstance(i, ScalarNode)]
        quote = quote or (bool(scalars) and all(i.style in ("'", '"') for i in scalars))
        if node.flow_style:
            self.edit_flow_list(node, remove, add, quote)
            return
        if not node.value:
            raise EditError("empty block sequence")
        for idx in remove:
            item = node.value[idx]
            if not isinstance(item, ScalarNode):
                raise EditError(f"cannot remove a non-scalar item on line {self.line(item) + 1}")
            ln = self.line(item)
            content = self.lines.content(ln)
            prefix = self.text[self.lines.start(ln):item.start_mark.index]
            if prefix.strip() != "-":
                raise EditError(f"cannot remove the item on line {ln + 1}: it shares its line")
            c = inline_comment(content)
            repl = self.join_lines([" " * prefix.index("-") + c]) if c else ""
            self.splice(self.lines.start(ln), self.lines.end(ln), repl)
        if add:
            first = node.value[0]
            ln0 = self.line(first)
            prefix = self.text[self.lines.start(ln0):first.start_mark.index]
            if prefix.strip() != "-":
                prefix = " " * dash_column(node, self.text) + "- "
            q = _quote_of(node)
            items = [prefix + (_flow(a, self.style) if isinstance(a, dict) else self.style.scalar(a, force_quote=quote, quote=q))
                     for a in add]
            self.insert_after_line(self.last_line(node), items, rank=-len(prefix) + 1.5)

    def edit_flow_list(self, node: SequenceNode, remove: list[int], add: list[str], quote: bool) -> None:
        start, end = node.start_mark.index, node.end_mark.index
        body = self.text[start:end]
        q = _quote_of(node)
        if "#" in body or "\n" in body:
            if remove:
                raise EditError(f"cannot remove items from the multi-line flow list on line {self.line(node) + 1}: edit it by hand")
            new = ", ".join(_flow(a, self.style) if isinstance(a, dict) else self.style.scalar(a, force_quote=quote, quote=q) for a in add)
            if node.value:  # right after the last item, before its comma or comment
                pos = content_end(node.value[-1], self.text)
                self.splice(pos, pos, ", " + new)
            else:
                self.splice(start + 1, start + 1, new)
            return
        items = [self.text[i.start_mark.index:i.end_mark.index] for k, i in enumerate(node.value) if k not in remove]
        items += [_flow(a, self.style) if isinstance(a, dict) else self.style.scalar(a, force_quote=quote, quote=q) for a in add]
        inner = body[1:-1]
        pad = " " if inner.startswith(" ") and inner.strip() else ""
        self.splice(start, end, "[" + pad + ", ".join(items) + pad + "]")

    # --- mapping entries (networks in mapping form, network definitions) ------------------------
    def edit_map_entries(self, node: MappingNode, remove: list[str], add: dict[str, Any]) -> None:
        if node.flow_style:
            start, end = node.start_mark.index, node.end_mark.index
            body = self.text[start:end]
            if "#" in body or "\n" in body:  # entry by entry, keeping the layout
                for k, v in node.value:
                    if str(k.value) in remove:
                        self.replace_flow_pair(KeyLoc(k, v, node), None, None)
                if add:
                    self.flow_add(node, [f"{self.style.scalar(k)}: {_flow(v, self.style) if v is not None else '{}'}"
                                         for k, v in add.items()])
                return
            # a pair as written; a key with no value written ("{shared: }") as the key alone
            # ("shared:" before "," would read as the key "shared:")
            pairs = [self.text[k.start_mark.index:content_end(v, self.text)]
                     if not (_is_empty(v) and v.end_mark.index <= v.start_mark.index)
                     else self.text[k.start_mark.index:k.end_mark.index]
                     for k, v in node.value if str(k.value) not in remove]
            for k, v in add.items():
                pairs.append(f"{self.style.scalar(k)}: {_flow(v, self.style) if v is not None else '{}'}")
            pad = " " if body[1:2] == " " else ""
            self.splice(start, end, "{" + pad + ", ".join(pairs) + pad + "}")
            return
        if add and {str(k.value) for k, _ in node.value} <= set(remove):
            self.replace_entries(node, add)  # every entry goes: the new ones take their place
            return
        for k, v in node.value:
            if str(k.value) in remove:
                self.replace_pair(KeyLoc(k, v, node), None, None)
        if add:
            indent = self.mapping_indent(node)
            step = self.style.block_mapping_step(node)
            empty_flow = any(isinstance(v, MappingNode) and v.flow_style and not v.value for _, v in node.value)
            empty_style = "{}" if empty_flow else "null"
            lines: list[str] = []
            for k, v in add.items():
                if v is None and empty_style == "{}":
                    lines.append(f"{' ' * indent}{self.style.scalar(k)}: {{}}")
                else:
                    lines.extend(self.render_pair(k, v, indent, step, self.style.seq_offset))
            self.insert_after_line(self.last_line(node), lines, rank=-indent)

    def replace_entries(self, node: MappingNode, add: dict[str, Any]) -> None:
        """Replace all entries of a block mapping with new ones, keeping the comments among them."""
        indent = self.mapping_indent(node)
        first = self.line(node.value[0][0])
        if not self.key_line_prefix_ok(node.value[0][0]):
            raise EditError(f"cannot edit the mapping on line {first + 1}: it does not start its line")
        last = self.last_line(node)
        lines: list[str] = []
        for ln in range(first, last + 1):
            content = self.lines.content(ln)
            if self.lines.is_comment(ln):
                lines.append(content)
            elif inline_comment(content):
                lines.append(" " * indent + inline_comment(content))
        step = self.style.block_mapping_step(node)
        empty_flow = any(isinstance(v, MappingNode) and v.flow_style and not v.value for _, v in node.value)
        for k, v in add.items():
            if v is None and empty_flow:
                lines.append(f"{' ' * indent}{self.style.scalar(k)}: {{}}")
            else:
                lines.extend(self.render_pair(k, v, indent, step, self.style.seq_offset))
        self.splice(self.lines.start(first), self.lines.end(last), self.join_lines(lines))

    def set_internal(self, loc: KeyLoc, definition: Any = None) -> None:
        """Make a network definition ``internal: true`` (``definition``: its current data)."""
        value = loc.value
        indent = self.column(loc.key)
        if self.is_alias(loc):  # "backend: *defaults": the network gets its own definition
            merged = dict(definition) if isinstance(definition, dict) else {}
            merged["internal"] = True
            self.replace_alias(loc, merged)
            return
        if self.shared(value):
            raise EditError(f"network '{loc.key.value}' is defined by an anchor other keys alias: mark it internal by hand")
        if isinstance(value, MappingNode) and not value.flow_style and value.value:
            own = find_key(value, "internal")
            if own and not own.via_merge and self.is_alias(own):
                self.replace_alias(own, True)
            elif own and not own.via_merge and isinstance(own.value, ScalarNode) and not self.shared(own.value):
                self.set_scalar(own.value, True)
            elif own and not own.via_merge:
                raise EditError(f"'internal' of network '{loc.key.value}' is shared through an anchor: set it by hand")
            else:
                self.add_pair(value, "internal", True)
            return
        if isinstance(value, MappingNode) and value.flow_style and value.value:
            own = find_key(value, "internal")
            if own and isinstance(own.value, ScalarNode):
                self.set_scalar(own.value, True)
                return
            self.flow_add(value, [f"{self.style.scalar('internal')}: true"])
            return
        if _is_empty(value) or (isinstance(value, MappingNode) and not value.value):
            parent_step = self.style.block_mapping_step(loc.holder) if isinstance(loc.holder, MappingNode) else self.style.map_step
            self.replace_empty_value(loc, indent + parent_step, {"internal": True})
            return
        raise EditError(f"cannot mark network '{loc.key.value}' internal: unexpected value on line {self.line(loc.key) + 1}")

    # --- the root mapping ----------------------------------------------------------------------
    def add_top_level(self, key: str, value: dict[str, Any]) -> None:
        root = self.cf.root
        if root.flow_style:  # a whole-document flow mapping (JSON): the key goes inside its braces
            self.flow_add(root, [f"{self.style.scalar(key)}: {_flow(value, self.style, empty='{}')}"])
            return
        indent = self.column(root.value[0][0]) if root.value else 0
        step = self.style.map_step
        last = self.last_line(root)
        # skip comment lines that belong to the last block (indented deeper than top-level keys)
        ln = last + 1
        after = last
        while ln < len(self.lines):
            if self.lines.is_blank(ln):
                ln += 1
                continue
            if self.lines.is_comment(ln) and self.lines.indent(ln) > indent:
                after = ln
                ln += 1
                continue
            break
        lines = self.render_pair(key, value, indent, step, self.style.seq_offset)
        if self.blank_between_top_level():
            lines = [""] + lines
        self.insert_after_line(after, lines, rank=2)

    def blank_between(self, mapping: MappingNode) -> bool:
        """Does this block mapping separate its entries with blank lines?"""
        return any(self.line(k) > 0 and self.lines.is_blank(self.line(k) - 1) for k, _ in mapping.value[1:])

    def blank_between_top_level(self) -> bool:
        """Does the file separate its blocks with blank lines? Judged on the top-level keys, or,
        when there is only one, on the services."""
        root = self.cf.root
        keys = [k for k, _ in root.value[1:]]
        if not keys:
            services = self.cf.top_value_node("services")
            keys = [k for k, _ in services.value[1:]] if isinstance(services, MappingNode) else []
        for k in keys:
            ln = self.line(k)
            if ln > 0 and self.lines.is_blank(ln - 1):
                return True
        return False


def block_lines(text: str, pad: str) -> list[str]:
    """A multi-line string as the lines of a literal block scalar (``|``), ``$`` written as ``$$``
    so that Compose does not interpolate it. The text ends with one line break (``|`` keeps one)."""
    body = text.replace("$", "$$").rstrip("\n").split("\n")
    return [pad + line if line else "" for line in body]


def _is_reset(node: Node) -> bool:
    return tag_of(node) == "!reset"


def _value_names(node: Node) -> list[str]:
    if isinstance(node, SequenceNode):
        return [str(i.value) for i in node.value if isinstance(i, ScalarNode)]
    if isinstance(node, MappingNode):
        return [str(k.value) for k, _ in node.value]
    return []


def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and tag_of(node).endswith(":null")


def _quote_of(node: SequenceNode) -> str | None:
    for item in node.value:
        if isinstance(item, ScalarNode) and item.style in ("'", '"'):
            return item.style
    return None


def _flow(value: Any, style: Style, quote_items: bool = False, empty: str = "null") -> str:
    """A value in flow style: ``[a, b]``, ``{internal: true}`` (``empty``: how a mapping's
    empty values are written, ``{}`` for network definitions)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{style.scalar(str(k))}: {_flow(v, style) if v is not None else empty}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(style.scalar(str(untag(v)), force_quote=quote_items or ":" in str(untag(v)))
                               if isinstance(untag(v), str) else _flow(v, style) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, str) and ":" in value:
        return style.scalar(value, force_quote=True)  # a ':' in a flow collection trips YAML 1.1 readers
    return style.scalar(value)


# --- plan -> edits ------------------------------------------------------------------------------


class ProjectEditor:
    def __init__(self, plan: Plan):
        self.plan = plan
        self.project = plan.project
        self.editors: dict[int, FileEditor] = {}
        self.anchor_done: set[int] = set()
        self.def_by_id: dict[int, Any] = {}
        self.users_cache: dict[int, list[str]] = {}
        self.agree_cache: dict[int, bool] = {}
        self.refs: dict[int, set[str]] = {}  # file -> network names its edits added

    def note_refs(self, cf: ComposeFile, names: Any) -> None:
        names = list(names) if isinstance(names, dict) else [str(untag(n)) for n in names or []]
        self.refs.setdefault(id(cf), set()).update(names)

    def editor(self, cf: ComposeFile) -> FileEditor:
        ed = self.editors.get(id(cf))
        if ed is None:
            ed = FileEditor(cf)
            self.editors[id(cf)] = ed
        return ed

    def run(self) -> list[FileEdit]:
        for sp in self.plan.changed_services():
            try:
                self.edit_service(sp)
            except EditError as exc:
                exc.service = exc.service or sp.name
                raise
        self.edit_networks()
        direct: dict[int, set[int]] = {}  # file -> ids of the service nodes written in 'services' itself
        for sp in self.plan.changed_services():  # services merged into 'services' (<<: *more)
            for d in self.project.services[sp.name].defs:
                ed = self.editors.get(id(d.file))
                if ed is None:
                    continue
                if id(d.file) not in direct:
                    services = d.file.top_value_node("services")
                    direct[id(d.file)] = {id(v) for _, v in services.value} if isinstance(services, MappingNode) else set()
                if id(d.node) not in direct[id(d.file)]:
                    self.note_anchor(ed, d.node)
        for cf in self.project.files:
            ed = self.editors.get(id(cf))
            services = find_key(cf.root, "services")
            if ed is not None and ed.splices and services is not None and \
                    (ed.is_alias(services) or ed.shared(services.value)):
                # "services: *all" (or "services: &all" used elsewhere): the services are edited
                # where they are written, and every key that aliases them sees the change
                self.note_anchor(ed, services.value)
                if ed.is_alias(services):
                    ed.notes.append(f"services edited in the anchor on line {ed.line(services.value) + 1} "
                                    "('services' is an alias of it)")
        if self.plan.gateway is not None and self.plan.gateway_changed:
            from hardener.gateway_edit import add_gateway

            add_gateway(self)
        return [self.editor(cf).result() for cf in self.project.files if id(cf) in self.editors]

    # services -----------------------------------------------------------------------------------
    def edit_service(self, sp: ServicePlan) -> None:
        svc = self.project.services[sp.name]
        if not svc.defs:
            raise EditError(f"service {sp.name} is not defined in an editable file")
        keys = sp.changed_keys
        mode_defs = [(d, find_key(d.node, "network_mode")) for d in svc.defs]
        mode_defs = [(d, loc) for d, loc in mode_defs if loc is not None]
        net_defs = [(d, find_key(d.node, "networks")) for d in svc.defs]
        net_defs = [(d, loc) for d, loc in net_defs if loc is not None]
        removing = "network_mode" in keys and sp.after["network_mode"] is ABSENT
        placed: dict[int, list[str]] = {}
        if "networks" in keys and sp.after["networks"] is not ABSENT:
            placed = self.place_networks(svc, sp, net_defs, mode_defs if removing else [])
        if removing:
            for d, loc in mode_defs:
                if _is_reset(loc.value):
                    continue
                value: Any = ABSENT
                if id(d) in placed and not any(nd is d for nd, _ in net_defs):
                    names = placed.pop(id(d))  # network_mode: X becomes networks: [...] in place
                    value = sp.after["networks"] if not net_defs and not placed else names
                self.remove_mode(svc, sp, d.file, loc, replace_with=value)
        if "networks" in keys:
            self.set_networks(svc, sp, net_defs, placed)
        if "ports" in keys:
            self.add_ports(svc, sp)
        if "environment" in keys:
            from hardener.gateway_edit import set_environment

            set_environment(self, svc, sp)

    def place_networks(self, svc: Service, sp: ServicePlan, net_defs: list, mode_defs: list) -> dict[int, list[str]]:
        """Which definition of the service (which file) receives each new network."""
        final = sp.after["networks"]
        final_names = list(final) if isinstance(final, dict) else [str(untag(x)) for x in final]
        existing = _all_names(net_defs)
        new = [n for n in final_names if n not in existing]
        if not new:
            return {}
        home = self.networks_home(svc, net_defs, mode_defs)
        out: dict[int, list[str]] = {}
        for n in new:
            d = home
            key = sp.placement.get(n)
            if key:
                holders = [x for x in svc.defs if (loc := find_key(x.node, key)) is not None and not loc.via_merge]
                if holders:
                    d = holders[-1]
            out.setdefault(id(d), []).append(n)
            self.def_by_id[id(d)] = d
        return out

    def networks_home(self, svc: Service, net_defs: list, mode_defs: list):
        """The definition new networks go into by default: where network_mode is reset or
        removed, else the first one with networks or without a network_mode of its own."""
        resets = [d for d, loc in ((d, find_key(d.node, "network_mode")) for d in svc.defs) if loc and _is_reset(loc.value)]
        if resets:
            return resets[-1]
        if net_defs:
            return net_defs[0][0]
        direct = [d for d, loc in mode_defs if not loc.via_merge and not _is_reset(loc.value)]
        if direct:
            return direct[-1]
        free = [d for d in svc.defs if find_key(d.node, "network_mode") is None]
        return free[0] if free else svc.defs[0]

    def flow_networks(self, ed: FileEditor) -> bool:
        """Does the file write its services' networks lists in flow style (``[a, b]``)?"""
        return ed.style.flow_networks(ed.cf.service_nodes().values())

    def remove_mode(self, svc: Service, sp: ServicePlan, cf: ComposeFile, loc: KeyLoc, replace_with: Any) -> None:
        ed = self.editor(cf)
        if replace_with is not ABSENT:
            self.note_refs(cf, replace_with)
        nets_kw = {"flow_lists": self.flow_networks(ed)}
        if not loc.via_merge:
            if ed.shared(loc.value) and not ed.is_alias(loc):
                raise EditError(f"network_mode of {svc.name} is an anchor that other keys alias: edit it by hand")
            if replace_with is ABSENT:
                ed.replace_pair(loc, None, None)
            else:
                ed.replace_pair(loc, "networks", replace_with, **nets_kw)
            return
        # network_mode arrives through a merge key: edit the anchor; services that keep the value
        # get it written explicitly (YAML cannot remove a merged key per service).
        anchor = loc.holder
        if id(anchor) not in self.anchor_done:
            self.anchor_done.add(id(anchor))
            users = self.anchor_users(cf, anchor)
            ed.replace_pair(loc, None, None)
            self.note_anchor(ed, anchor)
            keepers = [u for u in users if u != svc.name and self.plan.services[u].after.get("network_mode") is not ABSENT]
            for u in keepers:
                node = cf.service_nodes()[u]
                own = find_key(node, "network_mode")
                if own is None or own.via_merge:
                    ed.add_pair(node, "network_mode", untag(loc.value.value) if isinstance(loc.value, ScalarNode) else "host")
                    ed.notes.append(f"{u}: network_mode kept by writing it on the service (anchor edited)")
            ed.notes.append(
                f"network_mode removed from the anchor on line {ed.line(anchor) + 1} (used by {', '.join(users)})"
            )
        if replace_with is not ABSENT:
            node = self.service_node(cf, svc.name)
            ed.add_pair(node, "networks", replace_with, **nets_kw)

    def anchor_users(self, cf: ComposeFile, anchor: MappingNode) -> list[str]:
        """The services that get the anchor's keys: directly, or through anchors that merge it
        (``x-b: {<<: *a}`` then ``<<: *b``). Cached per anchor."""
        cached = self.users_cache.get(id(anchor))
        if cached is not None:
            return cached
        merges = cf.merges()
        by_id = cf.service_ids()
        users: list[str] = []
        seen: set[int] = set()
        stack: list[MappingNode] = [anchor]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if id(node) in by_id:
                users.append(by_id[id(node)])
            stack.extend(merges.get(id(node), []))
        self.users_cache[id(anchor)] = users
        return users

    def merges_same(self, d: Any, final: Any) -> bool:
        """Does this definition merge (``<<``) a service that is given exactly these networks?"""
        by_id = d.file.service_ids()
        for k, v in d.node.value:
            if k.value == "<<" and tag_of(k) == MERGE_TAG:
                for src in merge_sources(v):
                    other = self.plan.services.get(by_id.get(id(src), ""))
                    if other is not None and "networks" in other.changed_keys and other.before["networks"] is ABSENT \
                            and other.after["networks"] == final:
                        return True
        return False

    def all_users_agree(self, anchor: MappingNode, users: list[str]) -> bool:
        """Do all users of the anchor end up with the same networks? (once per anchor)"""
        agree = self.agree_cache.get(id(anchor))
        if agree is None:
            finals = [self.plan.services[u].after.get("networks") for u in users]
            agree = self.agree_cache[id(anchor)] = all(f == finals[0] for f in finals)
        return agree

    def note_anchor(self, ed: FileEditor, anchor: MappingNode) -> None:
        for k, v in ed.cf.root.value:
            if v is anchor or (isinstance(v, MappingNode) and _contains(v, anchor)):
                ed.touched_anchors.add(str(k.value))

    def service_node(self, cf: ComposeFile, name: str) -> MappingNode:
        node = cf.service_nodes().get(name)
        if node is None:
            raise EditError(f"service {name} not found in {cf.path}")
        return node

    def set_networks(self, svc: Service, sp: ServicePlan, net_defs: list, placed: dict[int, list[str]]) -> None:
        final = sp.after["networks"]
        if final is ABSENT:
            for d, loc in net_defs:
                if not loc.via_merge:
                    self.editor(d.file).replace_pair(loc, None, None)
            return
        final_names = list(final) if isinstance(final, dict) else [str(untag(x)) for x in final]
        handled: set[int] = set()
        for d, loc in net_defs:
            ed = self.editor(d.file)
            value = loc.value
            add = placed.get(id(d), [])
            handled.add(id(d))
            self.note_refs(d.file, add)
            if not loc.via_merge and ed.is_alias(loc):
                if isinstance(final, dict) and len(net_defs) == 1:
                    ed.replace_alias(loc, final)  # keeps aliases/ipv4_address of the shared mapping
                else:
                    own = [str(untag(x)) for x in _value_names(value)]
                    ed.replace_alias(loc, [n for n in own if n in final_names] + add)
                ed.notes.append(f"{svc.name}: networks written on the service (they came from an alias)")
                continue
            if not loc.via_merge and ed.shared(value):
                raise EditError(f"the networks of {svc.name} are an anchor other keys alias: edit it by hand")
            if loc.via_merge:
                users = self.anchor_users(d.file, loc.holder)
                same = self.all_users_agree(loc.holder, users)
                if not same:
                    self.note_refs(d.file, final)
                    ed.add_pair(self.service_node(d.file, svc.name), "networks", final, flow_lists=self.flow_networks(ed))
                    ed.notes.append(f"{svc.name}: networks overridden on the service (the anchor's users differ)")
                    continue
                if id(loc.holder) in self.anchor_done:
                    continue
                self.anchor_done.add(id(loc.holder))
                self.note_anchor(ed, loc.holder)
                ed.notes.append(f"networks changed in the anchor on line {ed.line(loc.holder) + 1} (same for {', '.join(users)})")
            if isinstance(value, SequenceNode):
                names = [str(untag(i.value)) if isinstance(i, ScalarNode) else None for i in value.value]
                remove = [i for i, n in enumerate(names) if n is not None and n not in final_names]
                ed.edit_list(value, remove, add)
            elif isinstance(value, MappingNode):
                present = [str(k.value) for k, _ in value.value]
                ed.edit_map_entries(value, [n for n in present if n not in final_names], {n: None for n in add})
            elif _is_empty(value):
                ed.replace_pair(loc, "networks", add)
            else:
                raise EditError(f"cannot edit networks of {svc.name}: unexpected value")
        for def_id, names in placed.items():
            if def_id in handled:
                continue
            d = self.def_by_id[def_id]
            ed = self.editor(d.file)
            value = final if not net_defs and len(placed) == 1 else names
            if not net_defs and len(placed) == 1 and self.merges_same(d, final):
                continue  # "<<: *netbox" and netbox gets these very networks: it inherits them
            self.note_refs(d.file, value)
            ed.add_pair(d.node, "networks", value, flow_lists=self.flow_networks(ed))

    def add_ports(self, svc: Service, sp: ServicePlan) -> None:
        final = sp.after["ports"]
        before = sp.before["ports"]
        new = final[len(before):] if isinstance(before, list) else list(final)
        port_defs = [(d, find_key(d.node, "ports")) for d in svc.defs]
        port_defs = [(d, loc) for d, loc in port_defs if loc is not None]
        for d, loc in reversed(port_defs):
            ed = self.editor(d.file)
            if not loc.via_merge and ed.is_alias(loc):
                ed.replace_alias(loc, final, quote_items=True)
                return
            if not loc.via_merge and ed.shared(loc.value):
                raise EditError(f"the ports of {svc.name} are an anchor other keys alias: edit it by hand")
            if loc.via_merge:
                ed.add_pair(self.service_node(d.file, svc.name), "ports", final, quote_items=True)
                ed.notes.append(f"{svc.name}: ports overridden on the service (they came from an anchor)")
                return
            if isinstance(loc.value, SequenceNode):
                if not loc.value.value and not loc.value.flow_style:
                    raise EditError("empty block ports list")
                ed.edit_list(loc.value, [], new, quote=True)
                return
            if _is_empty(loc.value):
                ed.replace_pair(loc, "ports", final, quote_items=True)
                return
        d = svc.defs[0]
        self.editor(d.file).add_pair(d.node, "ports", final, quote_items=True)

    # networks at the top level -------------------------------------------------------------------
    def edit_networks(self) -> None:
        created = {n: np_.definition for n, np_ in self.plan.networks.items() if np_.create}
        internal = [n for n, np_ in self.plan.networks.items() if np_.set_internal]
        files = self.project.files
        definitions: dict[int, KeyIndex] = {}  # each file's network definitions, indexed once
        if internal:
            for cf in files:
                top = find_key(cf.root, "networks")
                if top is not None and (self.editor(cf).is_alias(top) or self.editor(cf).shared(top.value)):
                    raise EditError("the top-level networks are an alias of an anchor: mark the network internal by hand")
                definitions[id(cf)] = KeyIndex(top.value if top is not None else None)
        for name in internal:
            holders = [(cf, definitions[id(cf)].find(name)) for cf in files]
            holders = [(cf, loc) for cf, loc in holders if loc is not None]
            if not holders:
                raise EditError(f"network {name} is not defined in an editable file")
            cf, loc = holders[-1]
            self.editor(cf).set_internal(loc, untag(self.project.networks.get(name)))
        if not created:
            return
        # each file that now lists a new network defines it, so that it stays valid on its own
        # (a base file used without its override); otherwise the first file does
        for cf in files:
            wanted = {n: d for n, d in created.items() if n in self.refs.get(id(cf), set())}
            if cf is files[0]:
                wanted.update({n: d for n, d in created.items() if not any(n in r for r in self.refs.values())})
                wanted = {n: created[n] for n in created if n in wanted}
            if wanted:
                self.define_networks(cf, wanted)

    def define_networks(self, cf: ComposeFile, created: dict[str, Any]) -> None:
        ed = self.editor(cf)
        loc = find_key(cf.root, "networks")
        if loc is not None and (ed.is_alias(loc) or ed.shared(loc.value)):
            raise EditError("the top-level networks are an alias of an anchor: add the new networks by hand")
        if loc is None:
            ed.add_top_level("networks", created)
        elif isinstance(loc.value, MappingNode) and loc.value.value:
            ed.edit_map_entries(loc.value, [], created)
        elif _is_empty(loc.value) or (isinstance(loc.value, MappingNode) and not loc.value.value):
            indent = ed.column(loc.key)
            ed.replace_empty_value(loc, indent + ed.style.map_step, created)
        else:
            raise EditError("top-level networks has an unexpected shape")


def _all_names(net_defs: list) -> set[str]:
    return {name for _, loc in net_defs for name in _value_names(loc.value)}


def _contains(node: Node, target: Node) -> bool:
    return any(n is target for n in iter_nodes(node))


def realise(plan: Plan) -> list[FileEdit]:
    return ProjectEditor(plan).run()
