"""Command-line behaviour: modes, exit status, discovery, stdin, summary and JSON report."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from hardener import __version__
from hardener.cli import cli

FLAT = """\
# shop
services:
  web:
    image: nginx:1.25
    ports:
      - "443:443"
    depends_on: [api]
  api:
    image: example/api:1
    environment:
      DATABASE_URL: postgres://db:5432/shop
  db:
    image: postgres:16
"""

HARDENED_SEGMENTED = """\
services:
  api:
    image: example/api:1
    networks: [front, back]
  db:
    image: postgres:16
    networks: [back]
  web:
    image: nginx:1.25
    networks: [front]
networks:
  front:
  back:
    internal: true
"""


def invoke(args, cwd, input=None, env=None):
    runner = CliRunner()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(cli, args, input=input, env=env, catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "compose.yaml").write_text(FLAT)
    return tmp_path


def test_diff_is_default_and_writes_nothing(project):
    r = invoke(["compose.yaml"], project)
    assert r.exit_code == 1
    assert r.stdout.startswith("--- a/compose.yaml\n+++ b/compose.yaml\n")
    assert "+    networks:" in r.stdout
    assert (project / "compose.yaml").read_text() == FLAT


def test_summary_gives_reasons_on_stderr(project):
    r = invoke(["--diff", "compose.yaml"], project)
    assert "db: data store (image postgres:16) -> network data (internal: true" in r.stderr
    assert "api: app service" in r.stderr and "reaches db: environment DATABASE_URL names 'db'" in r.stderr
    assert "web: edge service (image nginx:1.25) -> network frontend" in r.stderr
    assert "---" not in r.stderr


def test_quiet_suppresses_summary(project):
    r = invoke(["-q", "compose.yaml"], project)
    assert r.stderr == ""


def test_check_prints_one_verdict_and_no_diff(project):
    r = invoke(["--check", "compose.yaml"], project)
    assert r.exit_code == 1
    assert r.stdout == "would harden compose.yaml\n"
    assert (project / "compose.yaml").read_text() == FLAT


def test_write_then_everything_is_clean(project):
    r = invoke(["--write", "compose.yaml"], project)
    assert r.exit_code == 0
    text = (project / "compose.yaml").read_text()
    assert text.startswith("# shop\n") and "internal: true" in text
    again = invoke(["--check", "compose.yaml"], project)
    assert again.exit_code == 0 and again.stdout == "ok compose.yaml\n"
    assert invoke(["--diff", "compose.yaml"], project).stdout == ""


def test_already_segmented_file_exit_zero(tmp_path):
    (tmp_path / "compose.yaml").write_text(HARDENED_SEGMENTED)
    r = invoke(["--diff", "compose.yaml"], tmp_path)
    assert r.exit_code == 0, r.output
    assert r.stdout == ""


def test_findings_make_exit_one_even_when_nothing_to_change(tmp_path):
    (tmp_path / "compose.yaml").write_text(
        "services:\n  ha:\n    image: ghcr.io/home-assistant/home-assistant:stable\n    network_mode: host\n"
    )
    r = invoke(["--write", "compose.yaml"], tmp_path)
    assert r.exit_code == 1
    assert "host-network-required" in r.stderr
    assert "network_mode: host" in (tmp_path / "compose.yaml").read_text()


def test_bad_file_does_not_stop_the_others_and_highest_status_wins(project):
    (project / "broken.yaml").write_text("services:\n  a: [\n")
    r = invoke(["--check", "broken.yaml", "compose.yaml"], project)
    assert r.exit_code == 2
    assert "would harden compose.yaml" in r.stdout
    assert "broken.yaml:3:1:" in r.stderr


def test_stdin_write_prints_hardened_document(project):
    r = invoke(["--write", "-"], project, input=FLAT)
    assert r.exit_code == 0
    assert r.stdout.startswith("# shop\n") and "internal: true" in r.stdout


def test_stdin_diff(project):
    r = invoke(["-"], project, input=FLAT)
    assert r.exit_code == 1
    assert "--- a/<stdin>" in r.stdout


def test_stdin_write_of_clean_input_echoes_it(tmp_path):
    r = invoke(["--write", "-"], tmp_path, input=HARDENED_SEGMENTED)
    assert r.exit_code == 0
    assert r.stdout == HARDENED_SEGMENTED


def test_default_file_and_override_form_one_project(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: postgres:16\n  app:\n    image: x/app\n")
    (tmp_path / "compose.override.yaml").write_text("services:\n  app:\n    environment:\n      DB: db:5432\n")
    r = invoke(["--write", "-q"], tmp_path)
    assert r.exit_code == 0, r.output
    base = (tmp_path / "compose.yaml").read_text()
    assert "internal: true" in base
    app_block = base.split("  app:")[1]
    assert "data" in app_block  # the dependency found in the override put app on the data network
    assert (tmp_path / "compose.override.yaml").read_text() == "services:\n  app:\n    environment:\n      DB: db:5432\n"


def test_compose_file_variable(tmp_path):
    (tmp_path / "a.yaml").write_text(FLAT)
    r = invoke(["--check"], tmp_path, env={"COMPOSE_FILE": "a.yaml"})
    assert r.stdout == "would harden a.yaml\n"


def test_no_compose_file_is_a_usage_error(tmp_path):
    r = invoke([], tmp_path, env={"COMPOSE_FILE": ""})
    assert r.exit_code == 2
    assert "no compose file found" in r.output


def test_directory_search_skips_git_and_node_modules(tmp_path):
    for d in ("svc", ".git", "node_modules/pkg", "deep/er"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "svc" / "docker-compose.yml").write_text(FLAT)
    (tmp_path / "deep" / "er" / "compose.prod.yaml").write_text(FLAT)
    (tmp_path / ".git" / "compose.yaml").write_text(FLAT)
    (tmp_path / "node_modules" / "pkg" / "compose.yaml").write_text(FLAT)
    (tmp_path / "svc" / "notes.yaml").write_text("a: 1\n")
    r = invoke(["--check", "."], tmp_path)
    lines = sorted(r.stdout.splitlines())
    assert lines == ["would harden deep/er/compose.prod.yaml", "would harden svc/docker-compose.yml"]


def test_json_report(project):
    r = invoke(["--format", "json", "-q", "compose.yaml"], project)
    report = json.loads(r.stdout)
    assert report["tool"] == "compose-harden" and report["exit_code"] == 1 and report["mode"] == "diff"
    (entry,) = report["files"]
    assert entry["status"] == "changes pending"
    tiers = {s["name"]: s["tier"] for s in entry["services"]}
    assert tiers == {"web": "edge", "api": "app", "db": "data"}
    paths = {c["path"]: c for c in entry["changes"]}
    assert paths["services.db.networks"]["after"] == ["data"]
    assert paths["networks"]["change"] == "added"
    assert any(f["rule"] == "flat-network" and f["fixed"] for f in entry["findings"])
    assert {"from": "api", "to": "db"}.items() <= next(d for d in entry["dependencies"] if d["to"] == "db").items()


def test_json_report_for_an_error(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x\n  a:\n    image: y\n")
    r = invoke(["--format", "json", "-q", "compose.yaml"], tmp_path)
    report = json.loads(r.stdout)
    assert report["exit_code"] == 2
    err = report["files"][0]["error"]
    assert (err["line"], err["column"]) == (4, 3) and "duplicate key 'a'" in err["message"]


def test_version_and_help():
    runner = CliRunner()
    assert __version__ in runner.invoke(cli, ["--version"]).output
    help_text = runner.invoke(cli, ["--help"]).output
    assert "Examples:" in help_text and "--write" in help_text and "Exit status" in help_text


def test_python_dash_m_works(project):
    p = subprocess.run([sys.executable, "-m", "hardener", "--check", "compose.yaml"], cwd=project,
                       capture_output=True, text=True)
    assert p.returncode == 1 and p.stdout == "would harden compose.yaml\n"


def test_mutually_exclusive_stdin_twice(tmp_path):
    r = invoke(["-", "-"], tmp_path, input=FLAT)
    assert r.exit_code == 2


def test_json_report_lists_large_groups_as_groups(tmp_path, monkeypatch):
    """Group dependencies (an admin tool reaching every data store) are pairs up to a bound, then
    one entry per distinct set: a report of N + M entries, not N * M."""
    import hardener.report as report_module

    (tmp_path / "compose.yaml").write_text(
        "services:\n  adminer:\n    image: adminer\n    ports: ['8080:8080']\n"
        "  pg:\n    image: postgres:16\n  my:\n    image: mysql:8\n")
    pairs = json.loads(invoke(["--format", "json", "-q", "compose.yaml"], tmp_path).stdout)["files"][0]
    assert {(d["from"], d["to"]) for d in pairs["dependencies"]} >= {("adminer", "pg"), ("adminer", "my")}
    assert "dependency_groups" not in pairs
    monkeypatch.setattr(report_module, "MAX_GROUP_PAIRS", 1)
    grouped = json.loads(invoke(["--format", "json", "-q", "compose.yaml"], tmp_path).stdout)["files"][0]
    assert not [d for d in grouped["dependencies"] if d["from"] == "adminer"]
    (group,) = [g for g in grouped["dependency_groups"] if "adminer" in g["from"]]
    assert {"pg", "my"} <= set(group["to"])
