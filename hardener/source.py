"""Read a compose file's bytes and decode them without losing anything needed to write it back.

The text handed to the parser has no BOM; the BOM, the line-ending style and the presence of a
final newline are remembered so that rendered fragments match the file and the output can be
re-encoded byte for byte.
"""

from __future__ import annotations

import os
import stat
import sys

from hardener.errors import InputError
from hardener.fsutil import realpath, under
from hardener.record import record

BOM = "\ufeff"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@record
class Source:
    """A compose file's bytes and decoded text, with what is needed to write it back unchanged."""

    path: str  # as shown to the user ("-" for standard input)
    raw: bytes
    text: str  # decoded, BOM removed
    bom: bool
    newline: str  # "\r\n" or "\n": what the file uses (the first line break decides)
    real_path: str | None = None  # the file actually read (symlinks resolved); None for stdin
    cr_only: bool = False  # old Mac line endings: handled as "\n" (one character each) and restored

    def disk_text(self, text: str, bom: bool = True) -> str:
        """``text`` as the file holds it: CR-only line endings restored, the BOM in front."""
        if self.cr_only:
            text = text.replace("\n", "\r")
        return (BOM if self.bom and bom else "") + text

    def encode(self, text: str) -> bytes:
        return self.disk_text(text).encode("utf-8")


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return line, column


def _wide_encoding(raw: bytes) -> str | None:
    """"UTF-16" or "UTF-32" when the bytes are text in one of them (a BOM, or ASCII text with a
    NUL byte beside every character), else None."""
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    head = raw[:1024]
    if b"\x00" not in head:  # ASCII text in UTF-16 or UTF-32 has NUL bytes
        return None
    if len(head) >= 8 and len(head) % 2 == 0:
        for width, name in ((4, "UTF-32"), (2, "UTF-16")):
            for pos in range(width):
                units = [head[i:i + width] for i in range(0, len(head) - width + 1, width)]
                if all(u[pos] != 0 and u.count(0) == width - 1 for u in units):
                    return name
    return None


def decode(path: str, raw: bytes) -> tuple[str, bool]:
    wide = _wide_encoding(raw)
    if wide:
        raise InputError(path, f"{wide} is not supported; save as UTF-8", 1, 1)
    nul = raw.find(b"\x00")
    if nul >= 0:
        line, col = _position(raw, nul)
        raise InputError(path, "binary file (NUL byte): not a YAML text file", line, col)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(raw, exc.start)
        raise InputError(
            path, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}): Compose files must be UTF-8", line, col
        ) from None
    bom = text.startswith(BOM)
    if bom:
        text = text[1:]
    return text, bom


def newline_of(text: str) -> str:
    i = text.find("\n")
    return "\r\n" if i > 0 and text[i - 1] == "\r" else "\n"


def read_source(path: str, max_bytes: int = DEFAULT_MAX_BYTES, scope: str | None = None) -> Source:
    """Read ``path`` ("-" for standard input), refusing oversize, binary and non-UTF-8 input;
    with ``scope`` (folder mode), refusing a path that leaves that folder (hardener.fsutil)."""
    if path == "-":
        raw = sys.stdin.buffer.read(max_bytes + 1)
        real = None
        st = None
    else:
        real = realpath(path)
        if scope is not None and not under(real, realpath(scope)):
            raise InputError(path, f"not read: a link leading out of {scope}, the folder searched")
        try:
            st = os.stat(real)
        except FileNotFoundError:
            raise InputError(path, "no such file") from None
        except OSError as exc:
            raise InputError(path, f"cannot read: {exc.strerror}") from None
        if stat.S_ISDIR(st.st_mode):
            raise InputError(path, "is a directory, not a compose file")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(path, "not a regular file (a pipe or a device): refused")
        if st.st_size > max_bytes:
            raise InputError(path, f"file is {st.st_size} bytes, over the {max_bytes}-byte limit (raise it with --max-size)")
        try:
            with open(real, "rb") as fh:
                raw = fh.read(max_bytes + 1)
        except OSError as exc:
            raise InputError(path, f"cannot read: {exc.strerror}") from None
    if len(raw) > max_bytes:
        raise InputError(path, f"input is over the {max_bytes}-byte limit (raise it with --max-size)")
    text, bom = decode(path, raw)
    cr_only = "\r" in text and "\n" not in text
    if cr_only:
        text = text.replace("\r", "\n")
    return Source(
        path=path,
        raw=raw,
        text=text,
        bom=bom,
        newline=newline_of(text),
        real_path=real,
        cr_only=cr_only,
    )
