"""The README stays true: its rule section is the registry's, and it documents every option."""

import os
import re

from click.testing import CliRunner

from hardener.cli import cli
from hardener.rules import registry
from hardener.rules.readme import BEGIN, END, rules_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()


def test_rule_section_matches_the_registry():
    block = README[README.index(BEGIN):README.index(END) + len(END)]
    assert block == rules_section(), "run: python -m hardener.rules.readme README.md"


def test_rule_table_has_one_row_and_one_section_per_rule():
    rows = re.findall(r"^\| \[`([a-z-]+)`\]\(#\1\) \|", README, re.M)
    assert rows == list(registry())
    for rid in registry():
        assert re.search(rf"^#### {re.escape(rid)}$", README, re.M), rid


def test_every_option_is_documented():
    help_text = CliRunner().invoke(cli, ["--help"]).output
    options = set(re.findall(r"(--[a-z][a-z-]+)", help_text))
    missing = sorted(o for o in options if f"`{o}" not in README)
    assert not missing, f"options missing from README.md: {missing}"
