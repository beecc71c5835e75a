"""--check prints one line per project and a total; -q never hides an error; the JSON report
carries each file's diff and hardened text."""

import json
import os
import stat

import pytest
from click.testing import CliRunner

from hardener.cli import cli

FLAT = """\
services:
  web:
    image: nginx:1.25
    ports: ["443:443"]
    depends_on: [db]
  db:
    image: postgres:16
"""
CLEAN = "services:\n  web:\n    image: nginx\n    networks: [a]\nnetworks:\n  a:\n"


def invoke(args, cwd, input=None):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, args, input=input, catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.fixture
def tree(tmp_path):
    for name, text in (("a", FLAT), ("b", CLEAN), ("c", "services:\n  x: [\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "compose.yaml").write_text(text)
    return tmp_path


def test_check_one_line_per_project_and_a_total(tree):
    r = invoke(["--check", "."], tree)
    assert r.exit_code == 2
    assert r.stdout.splitlines() == ["would harden a/compose.yaml", "ok b/compose.yaml", "error: c/compose.yaml"]
    err = r.stderr.splitlines()
    assert err[-1] == "3 projects checked: 1 would be hardened, 1 ok, 1 could not be processed"
    assert [x for x in err if x.startswith("error: c/compose.yaml:3:1:")]  # the reason, one line
    assert not [x for x in err if "service(s) to change" in x]  # the long summary only with -v


def test_check_verbose_adds_the_summary(tree):
    r = invoke(["--check", "-v", "."], tree)
    assert "a/compose.yaml: 2 service(s) to change" in r.stderr
    assert "db: data store (image postgres:16)" in r.stderr


@pytest.mark.parametrize("mode", ["--diff", "--check", "--write"])
def test_quiet_keeps_the_error_for_a_refused_file(tree, mode):
    r = invoke([mode, "-q", "."], tree)
    err = r.stderr.splitlines()
    assert len(err) == 1 and err[0].startswith("error: c/compose.yaml:3:1:"), r.stderr


def test_quiet_keeps_the_error_for_a_failed_write(tree):
    if os.geteuid() == 0:
        # root writes anyway; make the rename fail instead: the folder is a read-only mount stand-in
        target = tree / "a" / "compose.yaml"
        os.chmod(tree / "a", stat.S_IRUSR | stat.S_IXUSR)
        import subprocess
        attr = subprocess.run(["chattr", "+i", str(tree / "a")], capture_output=True)
        if attr.returncode != 0:
            os.chmod(tree / "a", 0o755)
            pytest.skip("cannot make a folder unwritable for root here")
        try:
            r = invoke(["--write", "-q", "a/compose.yaml"], tree)
        finally:
            subprocess.run(["chattr", "-i", str(tree / "a")])
            os.chmod(tree / "a", 0o755)
        assert target.read_text() == FLAT
    else:
        os.chmod(tree / "a", stat.S_IRUSR | stat.S_IXUSR)
        try:
            r = invoke(["--write", "-q", "a/compose.yaml"], tree)
        finally:
            os.chmod(tree / "a", 0o755)
    assert r.exit_code == 2
    err = r.stderr.splitlines()
    assert len(err) == 1 and err[0].startswith("error: a/compose.yaml") and "cannot" in err[0], r.stderr


def test_quiet_silences_notes_and_summary(tree):
    r = invoke(["--diff", "-q", "a"], tree)
    assert r.exit_code == 1 and r.stderr == ""


def test_json_carries_diff_and_hardened_text(tree):
    r = invoke(["--format", "json", "-q", "a/compose.yaml"], tree)
    (entry,) = json.loads(r.stdout)["files"]
    (edit,) = entry["edits"]
    assert edit["file"] == "a/compose.yaml" and edit["changed"]
    assert edit["diff"].startswith("--- a/a/compose.yaml\n+++ b/a/compose.yaml\n@@")
    invoke(["--write", "-q", "a/compose.yaml"], tree)
    assert edit["hardened"] == (tree / "a" / "compose.yaml").read_text()
    r = invoke(["--format", "json", "-q", "b/compose.yaml"], tree)
    (edit,) = json.loads(r.stdout)["files"][0]["edits"]
    assert not edit["changed"] and edit["diff"] == "" and edit["hardened"] == CLEAN


def test_json_of_stdin_carries_what_write_dash_prints(tmp_path):
    printed = invoke(["--write", "-"], tmp_path, input=FLAT).stdout
    r = invoke(["--write", "--format", "json", "-"], tmp_path, input=FLAT)
    (edit,) = json.loads(r.stdout)["files"][0]["edits"]
    assert edit["file"] == "<stdin>" and edit["hardened"] == printed
