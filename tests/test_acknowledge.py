"""Acknowledged findings: in the file (per service, top level) or in the configuration, with a
required reason; they do not fail the run and are listed as acknowledged."""

import json
import os

import pytest
from click.testing import CliRunner

from conftest import compose_config
from hardener.cli import cli

SEGMENTED = """\
services:
  web:
    image: nginx:1.25
    ports: ["443:443"]
    networks: [front]
  api:
    image: example/api:1
    networks: [front, back]
    environment:
      DATABASE_URL: postgres://db:5432/shop
  db:
    image: postgres:16
    ports: ["127.0.0.1:5432:5432"]
    networks: [back]
{db_extra}networks:
  front:
  back:
{top_extra}"""


def stack(db_extra="", top_extra=""):
    return SEGMENTED.format(db_extra=db_extra, top_extra=top_extra)


def invoke(args, cwd):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, args, catch_exceptions=False)
    finally:
        os.chdir(old)


def test_without_acknowledgement_the_finding_fails_the_check(tmp_path):
    (tmp_path / "compose.yaml").write_text(stack())
    r = invoke(["--check", "compose.yaml"], tmp_path)
    assert r.exit_code == 1 and r.stdout == "findings in compose.yaml\n"


def test_accept_on_the_service_turns_exit_one_into_zero(tmp_path):
    reason = "only bound to 127.0.0.1 for backups"
    (tmp_path / "compose.yaml").write_text(stack(
        db_extra=f"    x-compose-harden:\n      accept:\n        data-published-port: \"{reason}\"\n"))
    r = invoke(["--check", "-v", "compose.yaml"], tmp_path)
    assert r.exit_code == 0, r.output
    assert r.stdout == "ok compose.yaml\n"
    assert "1 acknowledged" in r.stderr
    assert f"acknowledged [data-published-port] db: data store publishes" in r.stderr
    assert f"(accepted at compose.yaml:17: {reason})" in r.stderr
    report = json.loads(invoke(["--format", "json", "compose.yaml"], tmp_path).stdout)
    (finding,) = [f for f in report["files"][0]["findings"] if f["rule"] == "data-published-port"]
    assert finding["acknowledged"] == {"reason": reason, "where": "compose.yaml:17"}
    assert report["exit_code"] == 0


def test_top_level_accept_covers_every_service(tmp_path):
    (tmp_path / "compose.yaml").write_text(stack(
        top_extra="x-compose-harden:\n  accept:\n    data-published-port: backups\n"))
    assert invoke(["--check", "compose.yaml"], tmp_path).exit_code == 0


def test_accept_in_the_configuration(tmp_path):
    (tmp_path / "compose.yaml").write_text(stack())
    (tmp_path / ".compose-harden.yaml").write_text("accept:\n  db:\n    data-published-port: backups\n")
    r = invoke(["--check", "-v", "compose.yaml"], tmp_path)
    assert r.exit_code == 0
    assert f"accepted at {tmp_path / '.compose-harden.yaml'}:3: backups" in r.stderr
    (tmp_path / ".compose-harden.yaml").write_text("accept:\n  other:\n    data-published-port: backups\n")
    assert invoke(["--check", "compose.yaml"], tmp_path).exit_code == 1  # another service's


@pytest.mark.parametrize(
    "db_extra, top_extra, line, message",
    [
        ("    x-compose-harden:\n      accept:\n        data-published-port: ''\n", "", 17, "a reason is required"),
        ("    x-compose-harden:\n      accept:\n        data-published-port:\n", "", 17, "a reason is required"),
        ("    x-compose-harden:\n      accept:\n        no-such-rule: why\n", "", 17, "unknown rule id 'no-such-rule'"),
        ("    x-compose-harden:\n      accept: [data-published-port]\n", "", 16, "accept must map rule ids to reasons"),
        ("", "x-compose-harden:\n  acept: {}\n", 19, "unknown key 'acept'"),
    ],
)
def test_bad_acknowledgement_refuses_the_file_with_its_line(tmp_path, db_extra, top_extra, line, message):
    text = stack(db_extra=db_extra, top_extra=top_extra)
    (tmp_path / "compose.yaml").write_text(text)
    r = invoke(["--write", "-q", "compose.yaml"], tmp_path)
    assert r.exit_code == 2
    assert r.stderr.startswith(f"error: compose.yaml:{line}:") and message in r.stderr, r.stderr
    assert (tmp_path / "compose.yaml").read_text() == text


HOST = """\
services:
  dash:
    image: example/dashboard:1
    network_mode: host
    expose: ["8080"]
{extra}"""


def test_accepting_a_fix_leaves_the_service_as_it_is(tmp_path):
    text = HOST.format(extra="    x-compose-harden:\n      accept:\n        host-network: mDNS discovery on the LAN\n")
    (tmp_path / "compose.yaml").write_text(text)
    r = invoke(["--write", "compose.yaml"], tmp_path)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "compose.yaml").read_text() == text
    assert "acknowledged [host-network] dash: network_mode: host not removed" in r.stderr
    assert "cannot-edit" not in r.stderr


def test_accepting_flat_network_for_one_service_moves_only_the_others(tmp_path):
    text = """\
services:
  web:
    image: nginx:1.25
    ports: ["443:443"]
    depends_on: [api]
  api:
    image: example/api:1
    environment:
      DATABASE_URL: postgres://db:5432/shop
  legacy:
    image: example/legacy:1
    x-compose-harden:
      accept:
        flat-network: "decommissioned next quarter"
  db:
    image: postgres:16
"""
    (tmp_path / "compose.yaml").write_text(text)
    r = invoke(["--write", "--format", "json", "compose.yaml"], tmp_path)
    report = json.loads(r.stdout)
    findings = {(f["rule"], f["service"]): f for f in report["files"][0]["findings"]}
    assert findings[("flat-network", "legacy")]["acknowledged"]["reason"] == "decommissioned next quarter"
    assert not findings[("flat-network", "legacy")]["fixed"]
    # what keeping legacy where it is costs (it may reach the database) is still reported
    assert not [f for f in report["files"][0]["findings"] if f["rule"] == "cannot-edit"]
    after = (tmp_path / "compose.yaml").read_text()
    legacy_block = after.split("  legacy:")[1].split("  db:")[0]
    assert "networks" not in legacy_block
    assert "internal: true" in after and "    networks:\n      - frontend\n" in after
    ok, _, err = compose_config(["compose.yaml"], tmp_path)
    assert ok, err
