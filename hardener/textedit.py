"""Text splicing over the original string: the only way the tool changes a file.

Positions come from the composer's node marks (character offsets). Every edit replaces one span
of the original text; everything outside the spans stays byte-identical.
"""

from __future__ import annotations

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hardener.lines import Lines  # noqa: F401  (the line model; imported from here by the editor)
from hardener.record import record


@record(frozen=True)
class Splice:
    """Replace ``text[start:end]`` with ``text``."""

    start: int
    end: int
    text: str
    order: int = 0  # ties at one position: lower first (after rank)
    rank: float = 1  # ties at one position: lower first. Lines inserted at the end of a block rank by
    # depth, the deepest first (a nested block ends before the block that holds it): -indent for
    # mapping keys, -(dash column) - 0.5 for list items; 2 for new top-level blocks


class EditConflict(Exception):
    pass


def apply(text: str, splices: list[Splice]) -> str:
    if not splices:
        return text
    ordered = sorted(enumerate(splices), key=lambda p: (p[1].start, p[1].end, p[1].rank, p[1].order, p[0]))
    out: list[str] = []
    pos = 0
    for _, s in ordered:
        if s.start < pos:
            raise EditConflict(f"overlapping edits at offset {s.start}")
        out.append(text[pos:s.start])
        out.append(s.text)
        pos = s.end
    out.append(text[pos:])
    return "".join(out)


def keep_missing_final_newline(text: str, splices: list[Splice], nl: str) -> list[Splice]:
    """Splices whose result, like ``text``, ends without a line break. Every edit renders whole
    lines; when ``text`` has no final newline the last line break of the result is dropped from
    whatever produces it: the last replacement text, or the original text just before it."""
    if not text or text.endswith("\n") or not apply(text, splices).endswith(nl):
        return splices
    ordered = sorted(splices, key=lambda s: (s.start, s.end, s.rank, s.order))
    tail = len(text)
    for i in range(len(ordered) - 1, -1, -1):
        s = ordered[i]
        if tail > s.end:  # original text after this splice ends the result: it has no line break
            break
        if s.text:
            return ordered[:i] + [Splice(s.start, s.end, s.text[: -len(nl)], s.order, s.rank)] + ordered[i + 1:]
        tail = s.start
        if (i == 0 or ordered[i - 1].end < tail) and text[tail - len(nl):tail] == nl:
            # original text before it ends the result: drop that text's last line break
            return ordered + [Splice(tail - len(nl), tail, "", 0, -1)]
    return splices


def content_end(node: Node, text: str) -> int:
    """Offset just after the last character that belongs to the node's value."""
    if isinstance(node, ScalarNode):
        end = node.end_mark.index
        if node.style in ("|", ">"):
            start = node.start_mark.index
            header = text[start:text.find("\n", start) if "\n" in text[start:end] else end]
            if "+" in header.split("#", 1)[0]:
                return end  # keep chomping: the trailing line breaks belong to the value
            while end > start and text[end - 1] in " \t\r\n":
                end -= 1
        return end
    if isinstance(node, (MappingNode, SequenceNode)):
        if node.flow_style or not node.value:
            return node.end_mark.index
        last = node.value[-1]
        if isinstance(node, MappingNode):
            k, v = last
            vend = content_end(v, text)
            return max(vend, k.end_mark.index)
        return content_end(last, text)
    return node.end_mark.index


def inline_comment(line_text: str) -> str | None:
    """The ``# comment`` at the end of a YAML line, if any (outside quotes)."""
    quote = None
    for i, ch in enumerate(line_text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            if i == 0 or line_text[i - 1] in " \t:[{,-":
                quote = ch
        elif ch == "#" and (i == 0 or line_text[i - 1] in " \t"):
            return line_text[i:]
    return None
