"""--format markdown: a pull-request body a reviewer can approve from."""

import os
import re

import pytest
from click.testing import CliRunner

from hardener.cli import cli
from mermaid_check import blocks, parse

STACK = """\
services:
  web:
    image: nginx:1.25
    ports: ["443:443"]
    depends_on: [api]
  api:
    image: example/api:1
    environment:
      DATABASE_URL: postgres://db:5432/shop
  dash:
    image: example/dashboard:1
    network_mode: host
    expose: ["8080"]
  db:
    image: postgres:16
    ports: ["5432:5432"]
  cache:
    image: redis:7
  queue:
    image: rabbitmq:3
    ports: ["127.0.0.1:5672:5672"]
    x-compose-harden:
      accept:
        data-published-port: "bound to loopback for the ops tunnel"
"""


def invoke(args, cwd):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, args, catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.fixture
def body(tmp_path):
    (tmp_path / "compose.yaml").write_text(STACK)
    r = invoke(["--format", "markdown", "compose.yaml"], tmp_path)
    assert r.exit_code == 1
    return r.stdout


def test_opens_with_one_line_of_what_and_why(body):
    lines = body.split("\n")
    assert lines[0].startswith("## ")
    what = next(line for line in lines[1:] if line.strip())
    assert "per-tier networks" in what and "internal" in what and "network_mode: host" in what
    assert "database" in what  # the why: what the change protects


def test_table_per_file_with_tier_networks_and_evidence(body):
    assert "### `compose.yaml`" in body
    assert "| service | tier | networks before | networks after | evidence |" in body
    rows = {r.split("|")[1].strip().strip("`"): [c.strip() for c in r.split("|")[1:-1]]
            for r in body.split("\n") if r.startswith("| `")}
    assert set(rows) == {"web", "api", "dash", "db", "cache", "queue"}
    assert rows["db"][1] == "data" and rows["db"][2] == "default"
    assert "(internal)" in rows["db"][3] and rows["db"][3].count("`") >= 4  # its data network and a way out
    assert rows["dash"][2] == "host (network_mode)"
    assert "image postgres:16" in rows["db"][4]
    assert "reached by web: depends\\_on" in rows["api"][4]  # Markdown-escaped evidence


def test_findings_that_need_a_human_and_acknowledged_ones(body):
    human = body.split("#### Needs a human")[1].split("####")[0]
    assert "`data-published-port`" in human and "**db**" in human
    assert "README.md#data-published-port" in human
    acknowledged = body.split("#### Acknowledged")[1].split("####")[0]
    assert "bound to loopback for the ops tunnel" in acknowledged and "**queue**" in acknowledged


def test_two_mermaid_pictures_that_parse_with_one_node_per_service(body):
    before, after = blocks(body)
    for block in (before, after):
        g = parse(block)
        labels = [label.split(" ")[0] for label in g["nodes"].values()]
        assert sorted(labels) == sorted(["web", "api", "dash", "db", "cache", "queue"])
    b, a = parse(before), parse(after)
    assert sorted(b["subgraphs"].values()) == ["default", "host network (network_mode: host)"]
    after_nets = sorted(a["subgraphs"].values())
    assert "frontend" in after_nets and any(n.endswith(" (internal)") for n in after_nets)
    # a service on one network sits inside it; a service on several is outside, linked to each
    inside = {m for ms in a["members"].values() for m in ms}
    outside = [n for n in a["nodes"] if n not in inside]
    assert outside, "the stack has services on several networks"
    for n in outside:
        assert len({y for x, _, y in a["edges"] if x == n and y in a["subgraphs"]}) >= 2
    for n in inside:
        assert not [y for x, _, y in a["edges"] if x == n and y in a["subgraphs"]]
    web = next(i for i, label in a["nodes"].items() if label.startswith("web "))
    (home,) = [a["subgraphs"][g] for g, ms in a["members"].items() if web in ms]
    assert home == "frontend"


def test_opt_out_and_reproduce(body):
    assert "x-compose-harden" in body and ".compose-harden.yaml" in body and "accept" in body
    reproduce = body.split("### Reproduce")[1]
    assert "compose-harden --diff compose.yaml" in reproduce
    assert "pip install" in reproduce


def test_diff_is_folded_in(body):
    assert "<details><summary>Diff of compose.yaml</summary>" in body
    assert "```diff\n--- a/compose.yaml\n+++ b/compose.yaml\n" in body


def test_write_mode_speaks_of_what_was_done(tmp_path):
    (tmp_path / "compose.yaml").write_text(STACK)
    r = invoke(["--write", "--fail-on", "error", "--format", "markdown", "compose.yaml"], tmp_path)
    assert r.exit_code == 0
    assert "This change puts" in r.stdout
    assert "would" not in r.stdout.split("\n\n")[1]


def test_nothing_to_change(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n    networks: [a]\nnetworks:\n  a:\n")
    r = invoke(["--format", "markdown", "compose.yaml"], tmp_path)
    assert r.exit_code == 0
    assert "Nothing to change" in r.stdout
    before, after = blocks(r.stdout)
    assert before == after


def test_names_from_the_file_are_escaped(tmp_path):
    (tmp_path / "compose.yaml").write_text(
        'services:\n  "w|b\\e]0;x\\a<script>`":\n    image: nginx\n    ports: ["80:80"]\n'
        '    depends_on: [db]\n  db:\n    image: postgres\n'
    )
    r = invoke(["--format", "markdown", "compose.yaml"], tmp_path)
    outside_code = re.sub(r"(`{3,}).*?\1", "", r.stdout, flags=re.S)
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout and "<script>" not in outside_code
    row = next(line for line in r.stdout.split("\n") if line.startswith("| w\\|b"))
    assert len(row.split(" | ")) == 5  # the pipe in the name does not add a column
    for block in blocks(r.stdout):
        parse(block)


def test_error_file_is_listed(tmp_path):
    (tmp_path / "broken.yaml").write_text("services:\n  a: [\n")
    r = invoke(["--format", "markdown", "broken.yaml"], tmp_path)
    assert r.exit_code == 2
    assert "Could not be processed" in r.stdout and "broken.yaml:3:1" in r.stdout
    assert "could not be processed and were left untouched" in r.stdout.split("\n")[2]


def test_many_projects_stay_under_the_pull_request_limit(tmp_path):
    for i in range(60):
        d = tmp_path / f"s{i:02}"
        d.mkdir()
        (d / "compose.yaml").write_text(STACK)
    r = invoke(["--format", "markdown", "."], tmp_path)
    assert len(r.stdout) < 65536
    assert r.stdout.count("### `") >= 60 or "more projects" in r.stdout
    assert "### Reproduce" in r.stdout


def test_markdown_report_and_json_format_in_one_run(tmp_path):
    (tmp_path / "compose.yaml").write_text(STACK)
    r = invoke(["--format", "json", "--report", "markdown:body.md", "compose.yaml"], tmp_path)
    assert r.stdout.startswith("{")
    assert re.search(r"^## ", (tmp_path / "body.md").read_text(), re.M)
