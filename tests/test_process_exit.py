"""The command as a process: it ends without the interpreter's teardown (hardener.cli._leave),
so these check that nothing is lost on the way out -- every byte of a long output through a
pipe, the exit status of each outcome, and a closed pipe reported as before."""

from __future__ import annotations

import subprocess
import sys

import pytest
from test_cli import FLAT, invoke

SERVICES = 200  # a diff of some 75 kB: more than a pipe holds, so the writes block until read


def big_stack() -> str:
    lines = ["services:"]
    for i in range(SERVICES):
        lines += [f"  web{i}:", "    image: nginx:1.25", "    ports:", f"      - \"{8000 + i}:80\"",
                  f"    depends_on: [api{i}]",
                  f"  api{i}:", "    image: example/api:1", "    environment:",
                  f"      DATABASE_URL: postgres://db{i}:5432/shop",
                  f"  db{i}:", "    image: postgres:16"]
    return "\n".join(lines) + "\n"


def run(args, cwd, **kw):
    return subprocess.run([sys.executable, "-m", "hardener", *args], cwd=cwd, capture_output=True, timeout=120, **kw)


def test_long_output_through_a_pipe_is_complete(tmp_path):
    (tmp_path / "compose.yaml").write_text(big_stack())
    inproc = invoke(["--diff", "compose.yaml"], tmp_path)
    proc = run(["--diff", "compose.yaml"], tmp_path)
    assert len(proc.stdout) > 65536
    assert proc.returncode == inproc.exit_code == 1
    assert proc.stdout.decode() == inproc.stdout
    assert proc.stderr.decode() == inproc.stderr


@pytest.mark.parametrize("args, status", [
    (["--diff", "compose.yaml"], 1),  # changes pending
    (["--diff", "--fail-on", "never", "compose.yaml"], 0),
    (["--write", "-q", "compose.yaml"], 0),
    (["--diff", "missing.yaml"], 2),  # not processed
    (["--no-such-option"], 2),  # usage error
    (["--version"], 0),
])
def test_exit_status_of_each_outcome(tmp_path, args, status):
    (tmp_path / "compose.yaml").write_text(FLAT)
    proc = run(args, tmp_path)
    assert proc.returncode == status, proc.stderr.decode()
    if args[0] == "--write":
        assert "networks:" in (tmp_path / "compose.yaml").read_text()  # written and closed before the exit


def test_closed_pipe_is_not_a_crash(tmp_path):
    (tmp_path / "compose.yaml").write_text(big_stack())
    p = subprocess.Popen([sys.executable, "-m", "hardener", "--diff", "-q", "compose.yaml"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.read(100)
    p.stdout.close()  # the reader goes away, like `| head`
    _, err = p.communicate(timeout=120)
    assert p.returncode != 0
    assert b"Traceback" not in err


@pytest.mark.parametrize("closed, args, status", [
    (">&-", ["-q", "--write", "compose.yaml"], 0),
    ("2>&-", ["-q", "--write", "compose.yaml"], 0),
    ("2>&-", ["--version"], 0),
    (">&-", ["--explain", "no-such-rule"], 2),
])
def test_a_stream_closed_at_start_is_not_a_crash(tmp_path, closed, args, status):
    """Started with stdout or stderr closed (Python then has no sys.stdout / sys.stderr): the
    exit status is what it would be otherwise, with no traceback."""
    (tmp_path / "compose.yaml").write_text(FLAT)
    err = tmp_path / "err.txt"
    redirect = f"{closed} 2>{err}" if closed == ">&-" else closed
    cmd = " ".join([sys.executable, "-m", "hardener", *args]) + f" {redirect}"
    proc = subprocess.run(["sh", "-c", cmd], cwd=tmp_path, capture_output=True, timeout=120)
    assert proc.returncode == status, (proc.stdout, proc.stderr, err.read_text() if err.exists() else "")
    assert b"Traceback" not in proc.stderr + proc.stdout
    assert not err.exists() or "Traceback" not in err.read_text()
