"""One line model everywhere (hardener/lines.py): a line ends at '\\n'.

The YAML parser also breaks lines at a lone CR, U+0085 (NEL), U+2028 and U+2029 -- inside quoted
scalars, where Compose accepts them -- and str.splitlines() splits at even more characters. The
editor, the diff and the error positions must all count lines the same way, from the parser's
character offsets: every --diff applies with ``patch -p1`` and yields exactly the bytes --write
writes, CR-only files and a BOM included, and positions in messages are the lines editors show.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import compose_config
from hardener.cli import cli
from hardener.lines import Lines, line_counter, position, split_lines

HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")

STACK = "services:\n  web:\n    image: nginx\n    ports: ['80:80']\n{extra}    depends_on: [db]\n  db:\n    image: postgres:16\n"

BREAKS = {"u2028": "\u2028", "u2029": "\u2029", "nel": "\u0085", "lone-cr": "\r"}

CASES: dict[str, bytes] = {}
for _name, _ch in BREAKS.items():
    CASES[f"{_name}-double-quoted"] = STACK.format(extra=f'    labels:\n      note: "a{_ch}b"\n').encode()
    CASES[f"{_name}-single-quoted"] = STACK.format(extra=f"    environment:\n      NOTE: 'a{_ch}b'\n").encode()
    # the key after the scalar sits on the same '\n' line, on a later line for the parser
    CASES[f"{_name}-flow-mapping"] = (
        "services:\n"
        f"  web: {{image: nginx, labels: {{note: \"a{_ch}b\"}}, ports: ['80:80'], depends_on: [db]}}\n"
        "  db:\n    image: postgres:16\n"
    ).encode()
    CASES[f"{_name}-before-the-edit"] = (
        "services:\n  db:\n    image: postgres:16\n"
        f"    command: [\"postgres\", \"-c\", \"x{_ch}y\"]\n"
        "  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n"
    ).encode()
CASES["cr-only"] = STACK.format(extra="").replace("\n", "\r").encode()
CASES["cr-only-bom"] = ("\ufeff" + STACK.format(extra="").replace("\n", "\r")).encode()
CASES["cr-only-no-final-line-break"] = STACK.format(extra="").replace("\n", "\r").rstrip("\r").encode()
CASES["bom-edit-near-line-1"] = "\ufeffservices:\n  db:\n    image: postgres:16\n  web:\n    image: nginx\n    depends_on: [db]\n".encode()
CASES["crlf-bom-u2028"] = ("\ufeff" + STACK.format(extra='    labels:\n      note: "a\u2028b"\n').replace("\n", "\r\n")).encode()


def apply_patch(old: bytes, diff: bytes) -> bytes:
    """A strict applier with patch's line model (lines end at '\\n'): every context and removed
    line must match exactly."""
    src = old.split(b"\n")
    src = [line + b"\n" for line in src[:-1]] + ([src[-1]] if src[-1] else [])
    lines = diff.split(b"\n")
    lines = [line + b"\n" for line in lines[:-1]]
    assert lines[0].startswith(b"--- a/") and lines[1].startswith(b"+++ b/")
    out: list[bytes] = []
    pos = 0
    i = 2
    while i < len(lines):
        m = HUNK.match(lines[i])
        assert m, lines[i]
        start = int(m.group(1)) - (1 if m.group(2) != b"0" else 0)
        out.extend(src[pos:start])
        pos = start
        i += 1
        while i < len(lines) and not lines[i].startswith(b"@@"):
            tag, text = lines[i][:1], lines[i][1:]
            if i + 1 < len(lines) and lines[i + 1].startswith(b"\\ No newline"):
                text = text[:-1]
                i += 1
            if tag in (b" ", b"-"):
                assert src[pos] == text, (pos, src[pos], text)
                pos += 1
            if tag in (b" ", b"+"):
                out.append(text)
            i += 1
    out.extend(src[pos:])
    return b"".join(out)


def run(args, cwd):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        r = CliRunner().invoke(cli, args, catch_exceptions=False)
    finally:
        os.chdir(old)
    return r


@pytest.mark.parametrize("name", sorted(CASES))
def test_diff_applies_and_gives_what_write_writes(tmp_path, name):
    data = CASES[name]
    d = tmp_path / "p"
    d.mkdir()
    path = d / "compose.yaml"
    path.write_bytes(data)
    ok, _, err = compose_config([str(path)], str(d))
    assert ok, f"test input must be valid for docker-compose: {err}"
    r = run(["--diff", "compose.yaml"], d)
    assert r.exit_code == 1, r.output
    diff = r.stdout_bytes
    assert b"+++ b/compose.yaml" in diff
    r = run(["--write", "-q", "compose.yaml"], d)
    assert r.exit_code in (0, 1), r.output
    written = path.read_bytes()
    assert written != data
    assert apply_patch(data, diff) == written
    patch = shutil.which("patch")
    if patch:  # GNU patch itself, when the machine has it
        path.write_bytes(data)
        p = subprocess.run([patch, "-p1", "--quiet", "--batch"], input=diff, cwd=d, capture_output=True)
        assert p.returncode == 0, p.stdout + p.stderr
        assert path.read_bytes() == written
        path.write_bytes(written)
    ok, _, err = compose_config([str(path)], str(d))
    assert ok, f"the hardened file is not valid for docker-compose: {err}"
    assert run(["--diff", "compose.yaml"], d).stdout == "", "not idempotent"


def test_cr_only_diff_is_one_line_as_patch_sees_it(tmp_path):
    """patch counts lines at '\\n' only: a CR-only file is one line, and so is its diff's hunk."""
    (tmp_path / "compose.yaml").write_bytes(CASES["cr-only"])
    diff = run(["--diff", "compose.yaml"], tmp_path).stdout_bytes
    assert diff.count(b"\n@@ -1 +1 @@\n") == 1
    assert b"\r" in diff and b"\n+" in diff and b"\\ No newline at end of file" in diff


def test_positions_count_lines_at_newlines_only(tmp_path):
    """A duplicate key after a quoted scalar holding U+2028 and a lone CR: the position is the
    line an editor shows, not the parser's count."""
    text = 'services:\n  web:\n    labels:\n      a: "x\u2028y\rz"\n    image: nginx\n    image: other\n'
    (tmp_path / "dup.yaml").write_bytes(text.encode())
    r = run(["--check", "dup.yaml"], tmp_path)
    assert r.exit_code == 2
    assert "dup.yaml:6:5: duplicate key 'image' (first defined on line 5)" in r.stderr, r.stderr


def test_lines_and_split_lines_agree():
    text = "a\u2028b\rc\x0bd\x0ce\x1cf\x85g\r\nh\ni"
    assert split_lines(text) == ["a\u2028b\rc\x0bd\x0ce\x1cf\x85g\r\n", "h\n", "i"]
    lines = Lines(text)
    assert len(lines) == len(split_lines(text)) == 3
    assert [lines.content(i) for i in range(3)] == ["a\u2028b\rc\x0bd\x0ce\x1cf\x85g", "h", "i"]
    assert position(text, text.index("h")) == (2, 1)
    assert position(text, text.index("g")) == (1, text.index("g") + 1)
    assert split_lines("") == [] and split_lines("x\n") == ["x\n"]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="ab\n\r", max_size=60), offsets=st.lists(st.integers(0, 60), max_size=12))
def test_line_counter_counts_as_the_text_does(text, offsets):
    """Offsets in any order (increasing, as a search gives them, or not) get the line that
    counting the newlines before them gives."""
    line_at = line_counter(text)
    for offset in offsets:
        offset = min(offset, len(text))
        assert line_at(offset) == text.count("\n", 0, offset) + 1
