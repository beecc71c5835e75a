"""What the command line prints: escaping, colour, progress.

Everything printed comes, at least in part, from the files the tool reads (service names, keys,
paths, values): a name holding an OSC or CSI sequence would set the terminal's title or clear
the screen. Every line goes through :func:`escape` on its way out, so no control character from
a file reaches a terminal raw and every error stays on one line. Colour is added after escaping
(the tool's own codes are the only escape sequences printed), on a terminal only, never with
``NO_COLOR``. Progress for folder sweeps is drawn on standard error when it is a terminal.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from hardener.lazyre import LazyRe
from hardener.lines import split_lines

# C0 and C1 controls, DEL, Unicode line/paragraph separators and the bidirectional controls a
# "Trojan source" name would use to make a line read differently from what it is.
_CONTROL = LazyRe("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _repl(m) -> str:  # type: ignore[no-untyped-def]
    ch = m.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str, keep: str = "") -> str:
    """``text`` with every control character written as an escape (``\\x1b``, ``\\n``,
    ``\\u2028``); characters in ``keep`` are left alone. Printable text is unchanged, and
    escaping twice changes nothing more."""
    if keep:
        return _CONTROL.sub(lambda m: m.group(0) if m.group(0) in keep else _repl(m), text)
    return _CONTROL.sub(_repl, text)


def colour_enabled(stream: TextIO, mode: str = "auto") -> bool:
    """``always``/``never``, or for ``auto``: a terminal, ``NO_COLOR`` unset or empty, ``TERM`` not dumb."""
    if mode == "always":
        return True
    if mode == "never" or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


STYLES = {"red": "31", "green": "32", "yellow": "33", "cyan": "36", "bold": "1", "dim": "2", "bold-red": "1;31"}


def paint(text: str, style: str, on: bool) -> str:
    return f"\x1b[{STYLES[style]}m{text}\x1b[0m" if on and text else text


def diff_lines(diff: str, colour: bool, tty: bool) -> str:
    """A unified diff for printing. A pipe gets it byte for byte (``patch`` applies it); a
    terminal gets control characters escaped, and colour when ``colour``."""
    if not tty and not colour:
        return diff
    out: list[str] = []
    for line in split_lines(diff):  # the lines patch sees (hardener.lines)
        body = line[:-1] if line.endswith("\n") else line
        end = line[len(body):]
        if tty:
            body = escape(body, keep="\t")
        if colour:
            if body.startswith(("---", "+++")):
                body = paint(body, "bold", True)
            elif body.startswith("@@"):
                body = paint(body, "cyan", True)
            elif body.startswith("-"):
                body = paint(body, "red", True)
            elif body.startswith("+"):
                body = paint(body, "green", True)
            elif body.startswith("\\"):
                body = paint(body, "dim", True)
        out.append(body + end)
    return "".join(out)


def is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Console:
    """One place that prints: stdout lines, the summary on stderr (silenced by ``-q``), errors
    (never silenced), and a progress line on a terminal that is cleared before anything else."""

    def __init__(self, quiet: bool = False, colour: str = "auto", stdout: TextIO | None = None,
                 stderr: TextIO | None = None):
        self.quiet = quiet
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.out_tty = is_tty(self.stdout)
        self.err_tty = is_tty(self.stderr)
        self.out_colour = colour_enabled(self.stdout, colour)
        self.err_colour = colour_enabled(self.stderr, colour)
        self._progress_shown = False

    # stdout ------------------------------------------------------------------------------------
    def out(self, line: str) -> None:
        self.clear_progress()
        self.stdout.write(escape(line) + "\n")
        self.stdout.flush()

    def out_raw(self, text: str) -> None:
        """Report text (JSON, SARIF, Markdown) that escapes its own content."""
        self.clear_progress()
        self.stdout.write(text)
        self.stdout.flush()

    def verdict(self, word: str, rest: str, style: str) -> None:
        self.clear_progress()
        self.stdout.write(paint(escape(word), style, self.out_colour) + " " + escape(rest) + "\n")
        self.stdout.flush()

    def diff(self, text: str) -> None:
        self.clear_progress()
        self.stdout.write(diff_lines(text, self.out_colour, self.out_tty))
        self.stdout.flush()

    def document(self, data: bytes) -> None:
        """A hardened document (``--write -``): bytes to a pipe, escaped text to a terminal."""
        self.clear_progress()
        if self.out_tty:
            self.stdout.write(escape(data.decode("utf-8", "replace"), keep="\t\n"))
            self.stdout.flush()
            return
        self.stdout.flush()
        buffer = getattr(self.stdout, "buffer", None)
        if buffer is not None:
            buffer.write(data)
            buffer.flush()
        else:
            self.stdout.write(data.decode("utf-8"))

    # stderr ------------------------------------------------------------------------------------
    def err(self, line: str) -> None:
        """Summary and notes: silenced by ``-q``."""
        if not self.quiet:
            self._err(escape(line))

    def error(self, message: str) -> None:
        """A refused file or a failed write: one line, always printed, ``-q`` or not."""
        self._err(paint("error:", "bold-red", self.err_colour) + " " + escape(message))

    def _err(self, text: str) -> None:
        self.clear_progress()
        self.stdout.flush()
        self.stderr.write(text + "\n")
        self.stderr.flush()

    # progress ----------------------------------------------------------------------------------
    def progress(self, done: int, total: int, name: str) -> None:
        if not self.err_tty or self.quiet:
            return
        width = _width()
        line = f"[{done}/{total}] {escape(name)}"
        if len(line) > width - 1:
            line = line[: max(width - 2, 10)] + "…"
        self.stderr.write("\r\x1b[K" + line)
        self.stderr.flush()
        self._progress_shown = True

    def clear_progress(self) -> None:
        if self._progress_shown:
            self.stderr.write("\r\x1b[K")
            self.stderr.flush()
            self._progress_shown = False


def _width() -> int:
    try:
        return os.get_terminal_size(2).columns
    except OSError:
        return 80
