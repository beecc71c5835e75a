"""--explain RULE and --list-rules read the registry; every rule id the code can emit explains."""

import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from hardener.cli import cli
from hardener.rules import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def emitted_rule_ids():
    ids = set()
    for dirpath, _, files in os.walk(os.path.join(ROOT, "hardener")):
        for f in files:
            if f.endswith(".py"):
                text = open(os.path.join(dirpath, f), encoding="utf-8").read()
                ids.update(re.findall(r'Finding\(\s*"([a-z-]+)"', text))
    return sorted(ids)


@pytest.mark.parametrize("rule_id", sorted(set(emitted_rule_ids()) | set(registry())))
def test_explain_every_rule(rule_id):
    r = CliRunner().invoke(cli, ["--explain", rule_id])
    assert r.exit_code == 0, r.output
    rule = registry()[rule_id]
    assert r.stdout.startswith(f"{rule_id}: {rule.title}\n")
    assert f"severity: {rule.severity}" in r.stdout
    assert rule.doc in r.stdout


def test_explain_unknown_rule_is_a_usage_error():
    p = subprocess.run([sys.executable, "-m", "hardener", "--explain", "no-such-rule"], capture_output=True, text=True)
    assert p.returncode == 2 and "unknown rule 'no-such-rule'" in p.stderr and "--list-rules" in p.stderr


def test_list_rules_lists_the_registry_in_order():
    r = CliRunner().invoke(cli, ["--list-rules"])
    assert r.exit_code == 0
    lines = r.stdout.strip().split("\n")
    assert lines[0].split() == ["RULE", "SEVERITY", "FIXED", "TITLE"]
    assert [line.split()[0] for line in lines[1:]] == list(registry())
    for line, rule in zip(lines[1:], registry().values()):
        assert line.endswith(rule.title)


def test_explain_needs_no_compose_file(tmp_path):
    p = subprocess.run([sys.executable, "-m", "hardener", "--explain", "host-network"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert p.returncode == 0 and "network_mode: host" in p.stdout
