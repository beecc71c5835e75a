"""The unified diff built from the editor's splices applies cleanly and gives the new text."""

import os
import re

import pytest

from conftest import FIXTURES
from hardener.lines import split_lines
from hardener.pipeline import harden_paths
from hardener.report import unified_diff

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def apply_unified(old: str, diff: str) -> str:
    """A strict applier: every context and removed line must match exactly."""
    src = split_lines(old)  # the lines patch sees: ending at "\n" only
    out: list[str] = []
    lines = split_lines(diff)
    assert lines[0].startswith("--- a/") and lines[1].startswith("+++ b/")
    pos = 0
    i = 2
    while i < len(lines):
        m = HUNK.match(lines[i])
        assert m, lines[i]
        start = int(m.group(1)) - (1 if m.group(2) != "0" else 0)
        out.extend(src[pos:start])
        pos = start
        i += 1
        while i < len(lines) and not lines[i].startswith("@@"):
            tag, text = lines[i][0], lines[i][1:]
            if i + 1 < len(lines) and lines[i + 1].startswith("\\ No newline"):
                text = text[:-1]
                i += 1
            if tag in " -":
                assert src[pos] == text, (pos, src[pos], text)
                pos += 1
            if tag in " +":
                out.append(text)
            i += 1
    out.extend(src[pos:])
    return "".join(out)


CASES = sorted(
    os.path.join(FIXTURES, d) for d in os.listdir(FIXTURES) if os.path.isfile(os.path.join(FIXTURES, d, "expected.yaml"))
)


@pytest.mark.parametrize("case", CASES, ids=os.path.basename)
def test_diff_applies(case, monkeypatch):
    monkeypatch.chdir(case)
    result = harden_paths(["compose.yaml"])
    assert result.error is None
    for fe in result.changed_edits:
        diff = unified_diff("compose.yaml", fe.file.source.text, fe.new_text, fe.splices)
        assert apply_unified(fe.file.source.text, diff) == fe.new_text
        # the same changes as difflib would show (hunks may be grouped differently)
        plus = sorted(line for line in split_lines(diff) if line.startswith("+") and not line.startswith("+++"))
        minus = sorted(line for line in split_lines(diff) if line.startswith("-") and not line.startswith("---"))
        ref = unified_diff("compose.yaml", fe.file.source.text, fe.new_text)
        assert plus == sorted(l for l in split_lines(ref) if l.startswith("+") and not l.startswith("+++"))
        assert minus == sorted(l for l in split_lines(ref) if l.startswith("-") and not l.startswith("---"))


def test_diff_of_edit_at_end_of_file_without_newline(tmp_path, monkeypatch):
    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: postgres:16\n  app:\n    image: x\n    environment: [DB=db]")
    monkeypatch.chdir(tmp_path)
    (fe,) = harden_paths(["compose.yaml"]).changed_edits
    diff = unified_diff("compose.yaml", fe.file.source.text, fe.new_text, fe.splices)
    assert "\\ No newline at end of file" in diff
    assert apply_unified(fe.file.source.text, diff) == fe.new_text


def test_a_comment_after_a_multi_line_scalar_is_kept(tmp_path):
    """The value the tool removes is a double-quoted string over two lines with a comment after
    it: the comment stays (the scalar's own inner lines are its text, its last line may end with
    a real comment)."""
    p = tmp_path / "compose.yaml"
    p.write_text('services:\n  web:\n    image: nginx:1.25\n    network_mode: "\\\n      host"  # reason: legacy\n'
                 '  db:\n    image: postgres:16\n')
    result = harden_paths([str(p)])
    assert result.error is None, result.error
    (edit,) = result.changed_edits
    assert "# reason: legacy" in edit.new_text
    assert "network_mode" not in edit.new_text
