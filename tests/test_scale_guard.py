"""A cheap guard against quadratic work: operation counts, never times.

The scale benchmark (benchmarks/bench_scale.py) measures CPU time at 500 to 8,000 services in
several shapes; this test runs the pipeline in-process on the shapes that are linear today at
200 and 800 services and counts the calls of the planner's and the analysis's inner operations
(keeping a dependency, testing whether a keep would change anything, reading a service's
networks before, testing for pinned addresses, adding a dependency, listing what a service
reaches, searching a text for hostnames, rebuilding the tables derived from the planned network
names, and the safety check's test of whether two services are connected). Linear work grows 4x;
the bound is 6x, so a change that makes one of them grow with the square of the services (16x)
fails here, whatever the machine's speed.
"""

from __future__ import annotations

import os
import sys
from collections import Counter

import pytest

from conftest import ROOT
from hardener import edit, safety
from hardener.evidence import shared as shared_evidence
from hardener.evidence.hostnames import HostnameMatcher
from hardener.evidence.model import Analysis
from hardener.pipeline import harden_paths
from hardener.plan.core import Core, _Derived
from hardener.plan.keep import Keep
from hardener.style import Style

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
from shapes import SHAPES  # noqa: E402

COUNTED = [(Keep, "keep"), (Keep, "_keep_is_noop"), (Analysis, "add"), (Analysis, "reaches"),
           (HostnameMatcher, "find"), (Core, "pinned_on"), (Core, "nets_before"), (safety, "connected"),
           (_Derived, "__init__")]
# operations whose cost is a size (of what they return, or of the mapping they scan): the total
# size is counted
SIZED = [(Core, "full_nets", lambda args, out: len(out)),
         (shared_evidence, "_sharing", lambda args, out: len(out)),
         (Style, "_block_mapping_step", lambda args, out: len(args[1].value)),
         (edit, "find_key", lambda args, out: len(getattr(args[0], "value", None) or ()))]
SMALL, LARGE, SLACK = 200, 800, 6.0


def _count(monkeypatch, folder: str) -> Counter:
    calls: Counter = Counter()
    with monkeypatch.context() as m:
        for cls, name in COUNTED:
            real = getattr(cls, name)

            def counted(*args, _real=real, _name=name, **kw):
                calls[_name] += 1
                return _real(*args, **kw)

            m.setattr(cls, name, counted)
        for owner, name, size in SIZED:
            real = getattr(owner, name)

            def sized(*args, _real=real, _name=name, _size=size, **kw):
                out = _real(*args, **kw)
                calls[f"{_name} (items)"] += _size(args, out)
                return out

            m.setattr(owner, name, sized)
        result = harden_paths([os.path.join(folder, "compose.yaml")])
    assert result.error is None, result.error
    assert result.changed_edits, "the shape should have something to harden"
    return calls


@pytest.mark.parametrize("shape", ["four-tier", "flat-net", "build", "edge-data", "shared-nets", "anchor-nets",
                                   "long-chain", "merge-lists", "dense-deps", "workers", "sidecars",
                                   "wide-nets", "global-db", "hub-anchor", "gateway-nets", "private-nets",
                                   "hub-blocks", "mounted", "build-mount", "links", "big-env"])
def test_work_grows_linearly(shape, tmp_path, monkeypatch):
    # large kin groups are kept as group dependencies: both sizes take that path, as a large
    # stack does (the threshold would otherwise fall between them)
    monkeypatch.setattr(shared_evidence, "LARGE_GROUP", 0)
    _assert_linear(shape, tmp_path, monkeypatch)


@pytest.mark.parametrize("shape", ["workers", "global-db"])
def test_kin_pairs_grow_linearly(shape, tmp_path, monkeypatch):
    """Kin groups below the threshold get one dependency per (member, target): both sizes take
    that path here, where workers of one image that share nothing must not be compared pair by
    pair."""
    monkeypatch.setattr(shared_evidence, "LARGE_GROUP", 10 ** 9)
    _assert_linear(shape, tmp_path, monkeypatch)


def _assert_linear(shape, tmp_path, monkeypatch) -> None:
    counts = {}
    for n in (SMALL, LARGE):
        folder = tmp_path / str(n)
        folder.mkdir()
        SHAPES[shape](n).write(str(folder))
        counts[n] = _count(monkeypatch, str(folder))
    growth = LARGE / SMALL
    for op in sorted(set(counts[SMALL]) | set(counts[LARGE])):
        small, large = counts[SMALL][op], counts[LARGE][op]
        assert large <= SLACK * max(small, 1) + 50, (
            f"{shape}: {op} called {small} times at {SMALL} services and {large} at {LARGE} "
            f"({large / max(small, 1):.1f}x for {growth:.0f}x the services; linear is {growth:.0f}x)")


@pytest.mark.parametrize("shape", ["gateway-nets", "four-tier"])
def test_markdown_report_grows_linearly(shape, tmp_path, monkeypatch):
    """The Markdown report (its Mermaid topology places each service once, not once per
    network): the work of rendering it, counted as the services' network lists read, grows 4x."""
    from hardener import markdown

    counts = {}
    for n in (SMALL, LARGE):
        folder = tmp_path / str(n)
        folder.mkdir()
        SHAPES[shape](n).write(str(folder))
        result = harden_paths([os.path.join(str(folder), "compose.yaml")])
        assert result.error is None, result.error
        calls = Counter()
        with monkeypatch.context() as m:
            real = markdown._nets_of
            m.setattr(markdown, "_nets_of", lambda member: calls.update(["_nets_of"]) or real(member))
            markdown.markdown_report([result], "diff", "compose-harden --format markdown")
        counts[n] = calls["_nets_of"]
    assert counts[LARGE] <= SLACK * max(counts[SMALL], 1) + 50, counts
