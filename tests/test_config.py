"""The project configuration: found upward from the compose file, validated with file and line,
and honoured (select/ignore, exclude, network names, tiers of the team's own images)."""

import json
import os

import pytest
from click.testing import CliRunner

from hardener.cli import cli
from hardener.config import ConfigError, find_config, load_config

FLAT = """\
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

HOST = """\
services:
  dash:
    image: example/dashboard:1
    network_mode: host
    expose: ["8080"]
"""


def invoke(args, cwd, env=None):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.fixture
def repo(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "stacks" / "shop").mkdir(parents=True)
    (tmp_path / "stacks" / "shop" / "compose.yaml").write_text(FLAT)
    return tmp_path


def test_config_in_a_parent_folder_names_the_networks(repo):
    (repo / ".compose-harden.yaml").write_text("networks:\n  frontend: public\n  data: private-data\n")
    r = invoke(["--diff", "stacks/shop/compose.yaml"], repo)
    assert r.exit_code == 1
    assert "+    networks: [public]" in r.stdout or "+      - public" in r.stdout
    assert "+  private-data:\n+    internal: true" in r.stdout
    assert "frontend" not in r.stdout


def test_pyproject_table_is_read(repo):
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.compose-harden]\nnetworks = { data = "vault" }\n'
    )
    r = invoke(["--diff", "stacks/shop/compose.yaml"], repo)
    assert "+  vault:\n+    internal: true" in r.stdout


def test_pyproject_without_the_table_is_not_a_config(repo):
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.other]\nnetworks = 1\n')
    assert find_config(str(repo / "stacks" / "shop")) is None


def test_nearest_config_wins_and_yaml_beats_pyproject_in_one_folder(repo):
    (repo / ".compose-harden.yaml").write_text("networks: {data: outer}\n")
    shop = repo / "stacks" / "shop"
    (shop / "pyproject.toml").write_text('[tool.compose-harden]\nnetworks = { data = "toml" }\n')
    assert find_config(str(shop)) == str(shop / "pyproject.toml")
    (shop / ".compose-harden.yaml").write_text("networks: {data: inner}\n")
    assert find_config(str(shop)) == str(shop / ".compose-harden.yaml")
    assert find_config(str(repo / "stacks")) == str(repo / ".compose-harden.yaml")


def test_search_stops_at_the_repository_root(tmp_path):
    (tmp_path / ".compose-harden.yaml").write_text("networks: {data: outside}\n")
    inner = tmp_path / "repo"
    (inner / ".git").mkdir(parents=True)
    (inner / "compose.yaml").write_text(FLAT)
    assert find_config(str(inner)) is None
    r = invoke(["--diff", "compose.yaml"], inner)
    assert "outside" not in r.stdout


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("networks: {data: x}\nselct: [flat-network]\n", 2, "unknown key 'selct'"),
        ("ignore:\n  - flat-network\n  - no-such-rule\n", 3, "unknown rule id 'no-such-rule'"),
        ("accept:\n  db:\n    data-published-port: ''\n", 3, "a reason is required"),
        ("accept:\n  db:\n    nope: because\n", 3, "unknown rule id 'nope'"),
        ("networks:\n  data: host\n", 2, "'host' is reserved"),
        ("networks:\n  middle: x\n", 2, "unknown key 'middle'"),
        ("tiers:\n  'registry.example.com/*': database\n", 2, "tier must be one of"),
        ("select: flat-network\n", 1, "must be a list"),
        ("networks: {frontend: same, data: same}\n", 1, "used twice"),
    ],
)
def test_bad_yaml_config_is_refused_with_its_line(repo, text, line, message):
    (repo / ".compose-harden.yaml").write_text(text)
    r = invoke(["--check", "stacks/shop/compose.yaml"], repo)
    assert r.exit_code == 2
    errors = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert len(errors) == 1, r.stderr
    assert errors[0].startswith(f"error: {repo / '.compose-harden.yaml'}:{line}:"), errors
    assert message in errors[0]
    assert r.stdout == ""


def test_bad_yaml_config_error_even_with_quiet(repo):
    (repo / ".compose-harden.yaml").write_text("bogus: 1\n")
    r = invoke(["-q", "--check", "stacks/shop/compose.yaml"], repo)
    assert r.exit_code == 2 and "unknown key 'bogus'" in r.stderr


@pytest.mark.parametrize(
    "text, line, message",
    [
        ('[tool.compose-harden]\nselect = ["flat-network"]\nbogus = 1\n', 3, "unknown key 'bogus'"),
        ('[tool.compose-harden]\nignore = [\n  "flat-network",\n]\n\n[tool.compose-harden.accept.db]\n'
         'data-published-port = ""\n', 7, "a reason is required"),
        ('[tool.compose-harden.accept]\ndb = { "nope" = "x" }\n', 2, "unknown rule id 'nope'"),
        ('[tool.compose-harden]\nnetworks.data = "bridge"\n', 2, "'bridge' is reserved"),
        ('[tool.compose-harden]\nselect = [1\n', 2, "invalid TOML: Unclosed array"),
    ],
)
def test_bad_pyproject_config_is_refused_with_its_line(repo, text, line, message):
    (repo / "pyproject.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(str(repo / "pyproject.toml"))
    assert info.value.line == line, str(info.value)
    assert message in str(info.value)


def test_tiers_of_the_teams_own_images(repo):
    (repo / "stacks" / "shop" / "compose.yaml").write_text(
        "services:\n  api:\n    image: registry.example.com/team/api:1\n"
        "    environment: {L: 'http://ledger:7000'}\n"
        "  ledger:\n    image: registry.example.com/team/ledger:2\n"
    )
    (repo / ".compose-harden.yaml").write_text(
        "tiers:\n  'registry.example.com/team/ledger*': data\n  'registry.example.com/team/*': app\n"
    )
    r = invoke(["--format", "json", "-q", "stacks/shop/compose.yaml"], repo)
    services = {s["name"]: s for s in json.loads(r.stdout)["files"][0]["services"]}
    assert services["ledger"]["tier"] == "data"
    assert "registry.example.com/team/ledger*" in services["ledger"]["evidence"]
    assert services["api"]["tier"] == "app" and "registry.example.com/team/*" in services["api"]["evidence"]


def test_exclude_skips_files_in_sweeps_and_when_named(repo):
    (repo / "legacy").mkdir()
    (repo / "legacy" / "docker-compose.yml").write_text(FLAT)
    (repo / ".compose-harden.yaml").write_text("exclude: [legacy]\n")
    r = invoke(["--check", "."], repo)
    assert r.stdout.splitlines() == ["would harden stacks/shop/compose.yaml"]
    r = invoke(["--check", "legacy/docker-compose.yml"], repo)
    assert r.exit_code == 0 and r.stdout == ""
    assert "legacy/docker-compose.yml: skipped (excluded by" in r.stderr


def test_ignore_turns_a_rule_off_reports_and_fixes(repo):
    (repo / "stacks" / "shop" / "compose.yaml").write_text(HOST)
    r = invoke(["--check", "stacks/shop/compose.yaml"], repo)
    assert r.exit_code == 1
    (repo / ".compose-harden.yaml").write_text("ignore: [host-network]\n")
    r = invoke(["--write", "--format", "json", "stacks/shop/compose.yaml"], repo)
    report = json.loads(r.stdout)
    assert report["exit_code"] == 0, r.stderr
    assert (repo / "stacks" / "shop" / "compose.yaml").read_text() == HOST
    assert not [f for f in report["files"][0]["findings"] if f["rule"] in ("host-network", "cannot-edit")]


def test_select_reports_only_the_selected_rules(repo):
    (repo / ".compose-harden.yaml").write_text("select: [data-published-port]\n")
    (repo / "stacks" / "shop" / "compose.yaml").write_text(FLAT + '    ports: ["5432:5432"]\n')
    r = invoke(["--format", "json", "-q", "stacks/shop/compose.yaml"], repo)
    rules = {f["rule"] for f in json.loads(r.stdout)["files"][0]["findings"]}
    assert rules == {"data-published-port"}


def test_show_config_prints_the_effective_configuration(repo):
    (repo / ".compose-harden.yaml").write_text(
        "ignore: [edge-shares-data]\nnetworks: {data: vault}\naccept:\n  db:\n    data-published-port: backups on 127.0.0.1\n"
    )
    r = invoke(["--show-config", "stacks/shop/compose.yaml"], repo)
    assert r.exit_code == 0
    assert f"# {repo / '.compose-harden.yaml'}" in r.stdout
    assert 'ignore: ["edge-shares-data"]' in r.stdout
    assert 'networks: {"frontend": "frontend", "backend": "backend", "data": "vault"}' in r.stdout
    assert '"data-published-port": "backups on 127.0.0.1"' in r.stdout
    r = invoke(["--show-config"], repo / "stacks")
    assert "select: all" in r.stdout  # .compose-harden.yaml of the parent found from the folder
    r = invoke(["--no-config", "--show-config", "stacks/shop/compose.yaml"], repo)
    assert "# no configuration file" in r.stdout and "vault" not in r.stdout


def test_explicit_config_option(repo, tmp_path_factory):
    other = tmp_path_factory.mktemp("cfg") / "team.yaml"
    other.write_text("networks: {data: team-data}\n")
    r = invoke(["--config", str(other), "--diff", "stacks/shop/compose.yaml"], repo)
    assert "+  team-data:" in r.stdout
