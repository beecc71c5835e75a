"""The same input gives byte-identical output under any hash seed.

The command runs in a subprocess (``python -m hardener``) under several values of
``PYTHONHASHSEED`` on projects that create several networks (data networks of their own,
``<network>-egress`` networks, an egress gateway, a Swarm overlay, a generated stack with many
data networks); standard output, standard error, the exit status, the json / sarif / markdown
reports and the files ``--write`` leaves are compared byte for byte. Python's string hashes --
and so the order of sets and of dicts keyed by them -- change with the seed: any place where such
an order reaches the output shows up here.
"""

from __future__ import annotations

import os
import random
import shlex
import shutil
import subprocess
import sys

import pytest

from conftest import FIXTURES, ROOT

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
from shapes import SHAPES  # noqa: E402

SEEDS = ["0", "1", "2", "12345", str(random.SystemRandom().randrange(1, 2**32 - 1))]
CASES = [
    "egress-gateway-three-tier",
    "two-egress-networks-default-and-backend",
    "existing-segmentation-needs-egress",
    "swarm-overlay",
]
GENERATED = {"mixed-60": ("mixed", 60)}


def _source(tmp_path_factory, case: str) -> str:
    if case in GENERATED:
        shape, n = GENERATED[case]
        d = tmp_path_factory.mktemp(case)
        SHAPES[shape](n).write(str(d))
        return str(d)
    return os.path.join(FIXTURES, case)


def _snapshot(folder: str) -> dict[str, bytes]:
    out = {}
    for root, _, files in os.walk(folder):
        for f in files:
            path = os.path.join(root, f)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, folder)] = fh.read()
    return out


def _run(source: str, work: str, args: list[str], seed: str) -> tuple:
    """Run in a fresh copy at the same path (so that nothing differs but the seed)."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work)
    env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=ROOT, NO_COLOR="1")
    p = subprocess.run([sys.executable, "-m", "hardener", *args], cwd=work, env=env, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=120)
    return p.returncode, p.stdout, p.stderr, _snapshot(work)


@pytest.mark.parametrize("case", CASES + list(GENERATED))
def test_same_bytes_under_every_hash_seed(case, tmp_path, tmp_path_factory):
    source = _source(tmp_path_factory, case)
    args_file = os.path.join(source, "args")
    extra = shlex.split(open(args_file).read()) if os.path.exists(args_file) else []
    work = str(tmp_path / "project")
    runs = [
        # the diff on stdout, the summary on stderr, the three reports in files
        ["--diff", "--report", "json:report.json", "--report", "sarif:report.sarif",
         "--report", "markdown:report.md", *extra],
        ["--write", *extra],
    ]
    for args in runs:
        first = _run(source, work, args, SEEDS[0])
        assert first[0] in (0, 1), first[2].decode()
        for seed in SEEDS[1:]:
            other = _run(source, work, args, seed)
            for what, a, b in zip(("exit status", "stdout", "stderr", "files"), first, other):
                assert a == b, f"{case} {' '.join(args)}: {what} differs between PYTHONHASHSEED={SEEDS[0]} and {seed}"
