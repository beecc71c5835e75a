"""What reaches a terminal: control characters from files escaped, colour only where it belongs,
progress only on a terminal."""

import os
import pty
import select
import subprocess
import sys

import pytest
from click.testing import CliRunner

from hardener.cli import cli
from hardener.terminal import colour_enabled, escape

HOSTILE_NAME = 'w\\e]0;pwned\\a\\e[2J\\u009b31m'  # YAML escapes: OSC title, clear screen, C1 CSI
HOSTILE = f"""\
services:
  "{HOSTILE_NAME}":
    image: nginx
    ports: ["80:80"]
    environment:
      "X\\e[31m": "http://db:5432"
  db:
    image: postgres
    ports: ["5432:5432"]
"""


def test_escape_replaces_every_control_character():
    assert escape("a\x1b]0;t\x07b") == "a\\x1b]0;t\\x07b"
    assert escape("clear\x1b[2J") == "clear\\x1b[2J"
    assert escape("c1\x9b31m") == "c1\\x9b31m"
    assert escape("k\ney\r\t") == "k\\ney\\r\\t"
    assert escape("del\x7f") == "del\\x7f"
    assert escape("ls\u2028ps\u2029") == "ls\\u2028ps\\u2029"
    assert escape("bidi\u202eevil\u2066") == "bidi\\u202eevil\\u2066"


def test_escape_keeps_printable_text_and_is_idempotent():
    text = "café 中文 web: edge (image nginx:1.25) -> network frontend"
    assert escape(text) == text
    once = escape("x\x1by\n")
    assert escape(once) == once
    assert escape("tab\there", keep="\t") == "tab\there"


def invoke(args, cwd, env=None):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    finally:
        os.chdir(old)


RAW = ("\x1b", "\x07", "\x9b")


@pytest.mark.parametrize("args", [["--diff"], ["--check"], ["--check", "-v"], ["--write"], ["--format", "markdown"]])
def test_names_from_the_file_never_reach_the_terminal_raw(tmp_path, args):
    (tmp_path / "compose.yaml").write_text(HOSTILE)
    r = invoke(args + ["compose.yaml"], tmp_path)
    assert r.exit_code in (0, 1), r.output
    for ch in RAW:
        assert ch not in r.stderr and ch not in r.stdout
    if "--check" not in args or "-v" in args:
        assert "\\x1b]0;pwned\\x07" in r.stderr


def test_error_line_with_a_newline_in_a_key_stays_one_line(tmp_path):
    (tmp_path / "compose.yaml").write_text('services:\n  "a\\nb":\n    image: x\n  "a\\nb":\n    image: y\n')
    r = invoke(["--check", "compose.yaml"], tmp_path)
    assert r.exit_code == 2
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: compose.yaml:4:3: duplicate key 'a\\nb' (first defined on line 2)"]


def test_file_names_with_control_characters_are_escaped_in_check_lines(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "compose.\x1b[31m.yaml").write_text("services:\n  a:\n    image: x\n")
    r = invoke(["--check", "."], tmp_path)
    assert "\x1b" not in r.stdout + r.stderr
    assert "compose.\\x1b[31m.yaml" in r.stdout


def test_colour_is_off_for_pipes_and_with_no_color(monkeypatch):
    class Tty:
        def isatty(self):
            return True

    class Pipe:
        def isatty(self):
            return False

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert colour_enabled(Tty(), "auto")
    assert not colour_enabled(Pipe(), "auto")
    assert colour_enabled(Pipe(), "always")
    assert not colour_enabled(Tty(), "never")
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour_enabled(Tty(), "auto")
    monkeypatch.setenv("NO_COLOR", "")
    assert colour_enabled(Tty(), "auto")  # the standard: only a non-empty NO_COLOR counts
    monkeypatch.setenv("TERM", "dumb")
    assert not colour_enabled(Tty(), "auto")


def test_colour_always_paints_diff_and_verdicts(tmp_path):
    (tmp_path / "compose.yaml").write_text(HOSTILE.replace(HOSTILE_NAME, "web"))
    r = invoke(["--color", "always", "compose.yaml"], tmp_path)
    assert "\x1b[32m+    networks:" in r.stdout and "\x1b[36m@@ " in r.stdout
    r = invoke(["--color", "always", "--check", "compose.yaml"], tmp_path)
    assert r.stdout.startswith("\x1b[33mwould harden\x1b[0m compose.yaml")
    r = invoke(["--check", "compose.yaml"], tmp_path)
    assert "\x1b" not in r.stdout + r.stderr


def run_in_pty(args, cwd, env, stdout_tty=True):
    """Run the installed CLI with stderr (and stdout) on a pseudo-terminal; returns (tty text, piped stdout)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(
        [sys.executable, "-m", "hardener", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=slave if stdout_tty else subprocess.PIPE, stderr=slave,
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    out = p.stdout.read().decode() if p.stdout else ""
    p.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace"), out, p.returncode


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(TERM="xterm", **extra)
    return env


def test_terminal_gets_colour_and_progress_pipes_get_neither(tmp_path):
    for i in range(3):
        (tmp_path / f"s{i}").mkdir()
        (tmp_path / f"s{i}" / "compose.yaml").write_text(HOSTILE.replace(HOSTILE_NAME, "web"))
    tty, _, code = run_in_pty(["--check", "."], tmp_path, _env())
    assert code == 1
    assert "\x1b[33mwould harden" in tty
    assert "[1/3]" in tty and "[3/3]" in tty  # progress on the terminal (stderr)
    tty, piped, _ = run_in_pty(["--check", "."], tmp_path, _env(), stdout_tty=False)
    assert "\x1b" not in piped and piped.count("would harden") == 3
    assert "[1/3]" in tty  # stderr is still a terminal
    p = subprocess.run([sys.executable, "-m", "hardener", "--check", "."], cwd=tmp_path, env=_env(),
                       capture_output=True, text=True)
    assert "[1/3]" not in p.stderr and "\x1b" not in p.stderr + p.stdout


def test_no_color_turns_colour_off_on_a_terminal(tmp_path):
    (tmp_path / "compose.yaml").write_text(HOSTILE.replace(HOSTILE_NAME, "web"))
    tty, _, _ = run_in_pty(["--diff", "compose.yaml"], tmp_path, _env(NO_COLOR="1"))
    assert "+    networks:" in tty and "\x1b[3" not in tty


def test_raw_escapes_in_a_diff_are_shown_escaped_on_a_terminal_but_kept_in_pipes(tmp_path):
    # YAML refuses raw C0/C1 controls anywhere in a file; bidirectional overrides are printable to it
    text = HOSTILE.replace(HOSTILE_NAME, "web").replace("image: postgres\n", "image: postgres  # \u202eevil\n")
    (tmp_path / "compose.yaml").write_text(text)
    tty, _, _ = run_in_pty(["--diff", "compose.yaml"], tmp_path, _env(NO_COLOR="1"))
    assert "\u202e" not in tty and "# \\u202eevil" in tty
    p = subprocess.run([sys.executable, "-m", "hardener", "--diff", "compose.yaml"], cwd=tmp_path,
                       env=_env(), capture_output=True, text=True)
    assert "# \u202eevil" in p.stdout  # a pipe gets the exact lines, so that patch applies them
