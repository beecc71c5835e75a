"""The one line model of the tool: a line ends just after a ``\\n``.

That is how ``patch``, ``diff`` and editors count lines (a CRLF line ends with ``\\r\\n``; a file
with CR-only line endings is handled as ``\\n`` in memory and restored when written). The YAML
parser also breaks lines at a lone ``\\r``, U+0085, U+2028 and U+2029 -- inside a quoted scalar,
for instance -- and the C and pure-Python composers do not even agree on it, so the parser's line
and column numbers are never used: positions are the parser's character offsets, turned into
lines and columns here, and the editor, the diff and every message count lines the same way.
"""

from __future__ import annotations

import bisect


class Lines:
    """Line geometry of a text: starts, ends, indentation and comment-only lines."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0]
        i = text.find("\n")
        while i >= 0:
            self.starts.append(i + 1)
            i = text.find("\n", i + 1)
        if self.starts[-1] == len(text) and len(self.starts) > 1:
            self.starts.pop()  # no empty "line" after a final newline

    def __len__(self) -> int:
        return len(self.starts)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1

    def column_of(self, offset: int) -> int:
        """0-based column (in characters) of an offset."""
        return offset - self.starts[self.line_of(offset)]

    def start(self, line: int) -> int:
        return self.starts[line] if line < len(self.starts) else len(self.text)

    def end(self, line: int) -> int:
        """Offset just after the line's newline (or the end of the text)."""
        return self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)

    def content(self, line: int) -> str:
        return self.text[self.start(line):self.end(line)].rstrip("\r\n")

    def indent(self, line: int) -> int:
        s = self.content(line)
        return len(s) - len(s.lstrip(" "))

    def is_blank(self, line: int) -> bool:
        return not self.content(line).strip()

    def is_comment(self, line: int) -> bool:
        return self.content(line).lstrip().startswith("#")


def split_lines(text: str) -> list[str]:
    """The lines of ``text``, each with its ``\\n`` (not ``str.splitlines``, which also splits at
    ``\\r``, ``\\x0b``, ``\\x0c``, ``\\x1c``-``\\x1e``, U+0085, U+2028 and U+2029)."""
    out = text.split("\n")
    last = out.pop()
    out = [line + "\n" for line in out]
    if last:
        out.append(last)
    return out


def line_counter(text: str):
    """A function giving the 1-based line of an offset in ``text``, counting from the offset asked
    before: offsets asked in increasing order (the matches of a search) cost one pass over the
    text, not one pass each. An offset before the last starts again from the top."""
    pos, line = 0, 1

    def line_at(offset: int) -> int:
        nonlocal pos, line
        if offset < pos:
            pos, line = 0, 1
        line += text.count("\n", pos, offset)
        pos = offset
        return line

    return line_at


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a character offset."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, line_start) + 1, offset - line_start + 1
