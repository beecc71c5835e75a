"""Labelled real stacks (tests/labels/*.yaml): hardening one never cuts what its configuration
says it needs -- no needed connection, way out or host networking is removed -- and the share of
pairs without a reason to talk that end up separated, and of data stores sealed, does not fall.

The labels were written from each stack's own configuration and source (each need cites the
line), not from the tool's output. The judge (tests/labelled.py) reads Docker Compose's model.
"""

import glob
import os
import sys

import pytest

from conftest import CORPUS, ROOT

sys.path.insert(0, os.path.dirname(__file__))
from labelled import judge, load_label  # noqa: E402

LABELS = sorted(glob.glob(os.path.join(ROOT, "tests", "labels", "*.yaml")))
CLI = [sys.executable, "-m", "hardener"]
# Figures on these labels when they were last raised on purpose: they must not fall.
FLOOR_SEPARATED = 257
FLOOR_SEALED = 38

pytestmark = pytest.mark.skipif(not os.path.isdir(CORPUS), reason="../shared/corpus is not present")
_results: dict[str, object] = {}


def result(path):
    if path not in _results:
        _results[path] = judge(load_label(path), CORPUS, CLI)
    return _results[path]


@pytest.mark.parametrize("path", LABELS, ids=[os.path.basename(p)[:-5] for p in LABELS])
def test_nothing_needed_is_cut(path):
    j = result(path)
    assert j.error is None, j.error
    assert not j.cut, f"needed connections cut: {j.cut}"
    assert not j.egress_removed, f"needed ways out removed: {j.egress_removed}"
    assert not j.host_removed, f"needed host networking removed: {j.host_removed}"


def test_isolation_does_not_fall():
    js = [result(p) for p in LABELS]
    separated = sum(j.separated for j in js)
    sealed = sum(j.data_sealed for j in js)
    assert separated >= FLOOR_SEPARATED, f"pairs separated fell: {separated} < {FLOOR_SEPARATED}"
    assert sealed >= FLOOR_SEALED, f"data stores sealed fell: {sealed} < {FLOOR_SEALED}"
