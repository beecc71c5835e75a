"""--fail-on: the documented exit table, for every mode, on the installed command."""

import os
import subprocess
import sys

import pytest

from hardener.exitpolicy import FAIL_ON, Outcome, default_fail_on, exit_status

CHANGES_ONLY = """\
services:
  web:
    image: nginx:1.25
    ports: ["443:443"]
    depends_on: [api]
  api:
    image: example/api:1
    environment:
      DATABASE_URL: postgres://db:5432/shop
  db:
    image: postgres:16
"""

# hardened by the tool, and a finding remains that needs a human (a published data store port)
CHANGES_AND_FINDING = CHANGES_ONLY + '    ports: ["5432:5432"]\n'

FINDING_ONLY = "services:\n  ha:\n    image: ghcr.io/home-assistant/home-assistant:stable\n    network_mode: host\n"

CLEAN = """\
services:
  web:
    image: nginx:1.25
    networks: [front]
  db:
    image: postgres:16
    networks: [back]
networks:
  front:
  back:
    internal: true
"""

BROKEN = "services:\n  a: [\n"


def run(args, cwd):
    return subprocess.run([sys.executable, "-m", "hardener", *args], cwd=cwd, capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")})


def test_table():
    err, finding, change, clean = Outcome(error=True), Outcome(findings=1), Outcome(changes=True), Outcome()
    expected = {
        "never": (0, 0, 0, 0),
        "error": (2, 0, 0, 0),
        "finding": (2, 1, 0, 0),
        "change": (2, 1, 1, 0),
    }
    for policy, codes in expected.items():
        assert tuple(exit_status([o], policy) for o in (err, finding, change, clean)) == codes
    assert exit_status([], "change") == 0
    assert exit_status([clean, change, err], "change") == 2  # the highest wins
    assert set(expected) == set(FAIL_ON)
    assert default_fail_on("diff") == default_fail_on("check") == "change"
    assert default_fail_on("write") == "finding"


# mode, fail-on, file -> exit status (None: the default policy)
CASES = [
    ("--diff", None, CHANGES_ONLY, 1),
    ("--check", None, CHANGES_ONLY, 1),
    ("--check", None, CLEAN, 0),
    ("--check", None, FINDING_ONLY, 1),
    ("--check", None, BROKEN, 2),
    ("--check", "finding", CHANGES_ONLY, 0),
    ("--check", "finding", FINDING_ONLY, 1),
    ("--check", "error", CHANGES_AND_FINDING, 0),
    ("--check", "error", BROKEN, 2),
    ("--check", "never", BROKEN, 0),
    ("--write", None, CHANGES_ONLY, 0),
    ("--write", None, CHANGES_AND_FINDING, 1),
    ("--write", "error", CHANGES_AND_FINDING, 0),
    ("--write", "never", CHANGES_AND_FINDING, 0),
    ("--write", "change", CHANGES_ONLY, 1),  # pre-commit style: fail when files were rewritten
    ("--write", "change", CLEAN, 0),
    ("--write", "never", BROKEN, 0),
]


@pytest.mark.parametrize("mode, policy, text, expected", CASES)
def test_exit_status_of_the_installed_command(tmp_path, mode, policy, text, expected):
    (tmp_path / "compose.yaml").write_text(text)
    args = [mode] + (["--fail-on", policy] if policy else []) + ["compose.yaml"]
    p = run(args, tmp_path)
    assert p.returncode == expected, p.stderr
    if text is BROKEN:
        assert "error:" in p.stderr  # the error is printed whatever the policy
    if mode == "--write" and text is not BROKEN and text is not CLEAN:
        assert (tmp_path / "compose.yaml").read_text() != text  # written whatever the policy


def test_fail_on_never_write_exits_zero_after_writing(tmp_path):
    (tmp_path / "compose.yaml").write_text(CHANGES_AND_FINDING)
    p = run(["--fail-on", "never", "--write", "compose.yaml"], tmp_path)
    assert p.returncode == 0
    assert "frontend" in (tmp_path / "compose.yaml").read_text()
    assert "data-published-port" in p.stderr  # the finding is still reported


def test_bad_policy_is_a_usage_error(tmp_path):
    (tmp_path / "compose.yaml").write_text(CLEAN)
    p = run(["--fail-on", "sometimes", "compose.yaml"], tmp_path)
    assert p.returncode == 2 and "--fail-on" in p.stderr


def test_help_documents_the_table():
    p = run(["--help"], ".")
    assert "--fail-on" in p.stdout
    for line in ("never", "error", "finding", "change"):
        assert line in p.stdout
