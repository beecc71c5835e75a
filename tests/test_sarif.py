"""--format sarif: valid SARIF 2.1.0 (official schema) with rules from the registry, locations,
fixes that reproduce --write, stable fingerprints and suppressions for acknowledged findings."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from hardener.cli import cli
from hardener.rules import registry
from sarif_check import apply_fixes, validate

STACK = """\
# shop
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
    ports: ["127.0.0.1:6379:6379"]
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


def sarif(args, cwd):
    r = invoke(["--format", "sarif", *args], cwd)
    log = json.loads(r.stdout)
    validate(log)
    return log, r


@pytest.fixture
def project(tmp_path):
    (tmp_path / "compose.yaml").write_text(STACK)
    return tmp_path


def results_by(log):
    return {(r["ruleId"], r["properties"]["service"]): r for r in log["runs"][0]["results"]}


def test_valid_log_with_every_rule_from_the_registry(project):
    log, r = sarif(["compose.yaml"], project)
    assert r.exit_code == 1
    assert log["version"] == "2.1.0"
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "compose-harden"
    assert [rule["id"] for rule in driver["rules"]] == list(registry())
    for rule, spec in zip(registry().values(), driver["rules"]):
        assert spec["shortDescription"]["text"] == rule.title
        assert spec["help"]["text"] == rule.doc
        assert spec["helpUri"].endswith(f"README.md#{rule.id}")
        assert spec["defaultConfiguration"]["level"] == rule.severity
    for result in log["runs"][0]["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_results_point_at_the_service_or_its_key(project):
    log, _ = sarif(["compose.yaml"], project)
    results = results_by(log)
    lines = STACK.split("\n")

    def region(key):
        loc = results[key]["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"] == {"uri": "compose.yaml", "uriBaseId": "%SRCROOT%"}
        return loc["region"]

    host = region(("host-network", "dash"))
    assert lines[host["startLine"] - 1][host["startColumn"] - 1:].startswith("network_mode: host")
    ports = region(("data-published-port", "db"))
    assert lines[ports["startLine"] - 1].strip().startswith("ports:")
    assert ports["startLine"] == 17
    flat = region(("flat-network", "web"))
    assert (flat["startLine"], flat["startColumn"], flat["endColumn"]) == (3, 3, 6)  # "web" key
    assert results[("data-published-port", "db")]["level"] == "warning"
    assert results[("host-network", "dash")]["level"] == "error"
    base = log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.startswith("file://") and base.endswith("/")


def test_fixes_reproduce_what_write_writes(project):
    log, _ = sarif(["compose.yaml"], project)
    fixed = apply_fixes(log, lambda uri: (project / uri).read_text())
    assert invoke(["--write", "-q", "compose.yaml"], project).exit_code == 1
    assert fixed == {"compose.yaml": (project / "compose.yaml").read_text()}
    results = results_by(log)
    assert results[("host-network", "dash")]["fixes"]
    assert "fixes" not in results[("data-published-port", "db")]


def test_acknowledged_finding_is_a_suppression(project):
    log, _ = sarif(["compose.yaml"], project)
    result = results_by(log)[("data-published-port", "cache")]
    (suppression,) = result["suppressions"]
    assert suppression["kind"] == "inSource" and suppression["status"] == "accepted"
    assert suppression["justification"] == "bound to loopback for the ops tunnel"
    assert "suppressions" not in results_by(log)[("data-published-port", "db")]


def test_configuration_acknowledgement_is_an_external_suppression(project):
    (project / ".compose-harden.yaml").write_text("accept:\n  db:\n    data-published-port: backups\n")
    log, r = sarif(["compose.yaml"], project)
    (suppression,) = results_by(log)[("data-published-port", "db")]["suppressions"]
    assert suppression["kind"] == "external" and suppression["justification"] == "backups"


def test_fingerprints_do_not_depend_on_line_numbers(project):
    before, _ = sarif(["compose.yaml"], project)
    (project / "compose.yaml").write_text("# a new comment\n# and another\n" + STACK)
    after, _ = sarif(["compose.yaml"], project)
    fp = lambda log: {k: r["partialFingerprints"] for k, r in results_by(log).items()}  # noqa: E731
    assert fp(before) == fp(after)
    assert len({json.dumps(v, sort_keys=True) for v in fp(before).values()}) == len(fp(before))
    lines = lambda log: {k: r["locations"][0]["physicalLocation"]["region"]["startLine"] for k, r in results_by(log).items()}  # noqa: E731
    assert all(lines(after)[k] == v + 2 for k, v in lines(before).items())


def test_write_mode_reports_what_remains_in_the_written_file(project):
    log, r = sarif(["--write", "compose.yaml"], project)
    results = results_by(log)
    assert ("host-network", "dash") not in results  # fixed and written: nothing left to report
    assert all("fixes" not in x for x in results.values())
    written = (project / "compose.yaml").read_text().split("\n")
    region = results[("data-published-port", "db")]["locations"][0]["physicalLocation"]["region"]
    assert written[region["startLine"] - 1].strip().startswith("ports:")


def test_a_file_that_cannot_be_processed_is_a_notification(project):
    (project / "broken.yaml").write_text("services:\n  a: [\n")
    log, r = sarif(["broken.yaml", "compose.yaml"], project)
    assert r.exit_code == 2
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["exitCode"] == 2
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.yaml"
    assert note["locations"][0]["physicalLocation"]["region"]["startLine"] == 3


def test_report_option_writes_sarif_beside_another_format(project):
    r = invoke(["--check", "--report", "sarif:out.sarif", "compose.yaml"], project)
    assert r.stdout == "would harden compose.yaml\n"
    validate(json.loads((project / "out.sarif").read_text()))


FIXTURE_CASES = sorted(d for d in os.listdir(FIXTURES) if os.path.isfile(os.path.join(FIXTURES, d, "compose.yaml")))


@pytest.mark.parametrize("case", FIXTURE_CASES)
def test_every_fixture_gives_a_valid_log_whose_fixes_equal_write(tmp_path, case):
    src = os.path.join(FIXTURES, case)
    work = tmp_path / case
    shutil.copytree(src, work)
    args_file = work / "args"
    args = args_file.read_text().split() if args_file.exists() else []
    log, _ = sarif(args, work)

    def original(uri):
        raw = (work / uri).read_bytes().decode("utf-8")
        return raw[1:] if raw.startswith("\ufeff") else raw

    originals = {}
    for run in log["runs"]:
        for res in run["results"]:
            for fix in res.get("fixes", []):
                for ch in fix["artifactChanges"]:
                    uri = ch["artifactLocation"]["uri"]
                    originals.setdefault(uri, original(uri))
    fixed = apply_fixes(log, lambda uri: originals[uri])
    invoke(["--write", "-q", *args], work)
    for uri, text in fixed.items():
        written = (work / uri).read_bytes().decode("utf-8")
        written = written[1:] if written.startswith("\ufeff") else written
        assert text == written, uri


def test_installed_command_output_validates(project):
    p = subprocess.run([sys.executable, "-m", "hardener", "--format", "sarif", "compose.yaml"], cwd=project,
                       capture_output=True, text=True)
    validate(json.loads(p.stdout))


def test_services_are_looked_up_through_one_index_per_file(tmp_path, monkeypatch):
    """Thousands of findings do not each search thousands of services (or the top level): the
    file's services are indexed once, and each splice finds its service by bisection."""
    from hardener.compose import ComposeFile

    sys.path.insert(0, os.path.join(os.path.dirname(FIXTURES), "benchmarks"))
    from shapes import SHAPES

    SHAPES["merge-lists"](400).write(str(tmp_path))
    built = []
    real = ComposeFile.service_keys

    def counted(cf):
        if "_service_keys" not in cf.__dict__:  # the index is made now
            built.append(cf.path)
        return real(cf)

    monkeypatch.setattr(ComposeFile, "service_keys", counted)
    log, _ = sarif(["compose.yaml"], tmp_path)
    assert len(log["runs"][0]["results"]) >= 100
    assert len(built) == 1


@pytest.mark.parametrize("offset,owner", [(0, None), (10, "a"), (19, "a"), (20, "b"), (35, "b"), (99, "c"),
                                          (101, "c"), (102, None)])
def test_owner_of_a_splice_is_the_last_service_starting_before_it(offset, owner):
    from hardener.sarif import owner_of
    from hardener.textedit import Splice

    spans = ([(10, "a"), (20, "b"), (99, "c")], 101)
    assert owner_of(Splice(offset, offset, "x"), spans) == owner
