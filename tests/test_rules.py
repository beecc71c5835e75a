"""The rule registry: every rule is well formed, and every rule id the code can emit is registered."""

import os
import re

from hardener.rules import FIXES, SEVERITIES, registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_rules_are_well_formed():
    rules = registry()
    assert rules
    for rid, rule in rules.items():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", rid)
        assert rule.severity in SEVERITIES and rule.fix in FIXES
        assert rule.title and not rule.title.endswith(".")
        assert len(rule.doc) > 80, f"{rid}: the docstring is the user documentation"


def test_every_emitted_rule_is_registered():
    emitted = set()
    for dirpath, _, files in os.walk(os.path.join(ROOT, "hardener")):
        for f in files:
            if f.endswith(".py"):
                text = open(os.path.join(dirpath, f), encoding="utf-8").read()
                emitted.update(re.findall(r'Finding\(\s*"([a-z-]+)"', text))
    assert emitted, "no Finding(...) found: the scan is broken"
    assert emitted <= set(registry()), f"unregistered rule ids: {sorted(emitted - set(registry()))}"
