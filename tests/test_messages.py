"""What the tool says about a file reads as YAML-ish text: no Python reprs of values (dicts,
lists, quotes around strings), and evidence cut to a readable length."""

import os
import re
import shlex

import pytest

from conftest import FIXTURES
from hardener.pipeline import harden_paths
from hardener.report import summary_lines

CASES = sorted(d for d in os.listdir(FIXTURES) if os.path.isfile(os.path.join(FIXTURES, d, "compose.yaml")))
PY_REPR = re.compile(r"\{'|\['|': '|ABSENT|<hardener\.")


@pytest.mark.parametrize("case", CASES)
def test_findings_and_summary_print_no_python_reprs(case):
    d = os.path.join(FIXTURES, case)
    args_file = os.path.join(d, "args")
    args = shlex.split(open(args_file).read()) if os.path.exists(args_file) else []
    files = [a for i, a in enumerate(args) if i and args[i - 1] in ("-f", "--file")] or ["compose.yaml"]
    result = harden_paths([os.path.join(d, f) for f in files])
    lines = summary_lines(result)
    for line in lines:
        assert not PY_REPR.search(line), line


def test_long_port_syntax_is_shown_as_yaml(tmp_path):
    (tmp_path / "compose.yaml").write_text(
        "services:\n  db:\n    image: postgres:16\n    ports:\n      - name: pg\n        target: 5432\n"
        "        published: 5432\n        protocol: tcp\n  app:\n    image: foo/app\n    environment:\n      DB: db\n")
    lines = summary_lines(harden_paths([str(tmp_path / "compose.yaml")]))
    text = "\n".join(lines)
    assert "{name: pg, target: 5432, published: 5432, protocol: tcp}" in text
    assert max(len(line) for line in lines) < 2000


def test_not_verified_names_only_the_reach_a_service_had(tmp_path):
    """An unknown image keeps its reach to the data stores: the summary names those it could
    reach before, and says nothing of one that could reach none of them."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  tool:\n    image: example/tool:1\n"  # on default: it never met the stores
        "  app:\n    image: example/app:1\n    networks: [back]\n"
        "  db:\n    image: postgres:16\n    networks: [back]\n"
        "  cache:\n    image: redis:7\n    networks: [back]\n"
        "networks:\n  back:\n")
    result = harden_paths([str(tmp_path / "compose.yaml")])
    lines = [line.strip() for line in summary_lines(result) if "not verified" in line]
    assert lines == ["not verified: app keeps its reach to db, cache (image example/app:1 not in the image table)"]
