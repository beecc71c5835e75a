"""Golden-file tests: every folder of fixtures/ holds an input and the output the tool must produce.

A case folder has:
  compose.yaml                 the input (other input files are allowed: compose.override.yaml,
                               .env, env files, mounted configs, build contexts...)
  expected.yaml                the output, byte for byte (expected.override.yaml for an override
                               file, and so on: "compose" in the name becomes "expected")
  expected-findings.txt        optional: the findings left for a human, one "rule service" per line
  args                         optional: command-line arguments (default: none, which makes the tool
                               pick compose.yaml and its override like docker compose)
  compose-env                  optional: KEY=VALUE lines of the shell environment docker-compose is
                               run with when the files are validated (variables the user would set;
                               the tool itself never reads the shell environment)

Run `pytest tests/test_fixtures.py --update-goldens` to rewrite the expected files from the
current output, then review the git diff.
"""

import os
import shutil
import shlex

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, compose_config
from hardener.cli import cli

CASES = sorted(d for d in os.listdir(FIXTURES) if os.path.isfile(os.path.join(FIXTURES, d, "compose.yaml")))


def inputs(case_dir):
    return sorted(f for f in os.listdir(case_dir) if f.startswith("compose") and f.endswith((".yaml", ".yml")))


def expected_name(name):
    return "expected" + name[len("compose"):]


def run(workdir, args, mode="--write"):
    runner = CliRunner()
    old = os.getcwd()
    os.chdir(workdir)
    try:
        result = runner.invoke(cli, [mode, "--format", "json", "-q", *args], catch_exceptions=False)
    finally:
        os.chdir(old)
    return result


def open_findings(result):
    import json

    report = json.loads(result.stdout)
    out = set()
    for f in report["files"]:
        assert f["status"] != "error", f.get("error")
        for finding in f.get("findings", []):
            if not finding["fixed"]:
                out.add(f"{finding['rule']} {finding['service'] or '-'}")
    return out


@pytest.fixture
def workdir(tmp_path, request):
    case = request.param
    dst = tmp_path / case
    shutil.copytree(os.path.join(FIXTURES, case), dst, symlinks=True)
    for f in os.listdir(dst):
        if f.startswith("expected"):
            os.remove(dst / f)
    return case, dst


@pytest.mark.parametrize("workdir", CASES, indirect=True)
def test_golden(workdir, update_goldens):
    case, dst = workdir
    case_dir = os.path.join(FIXTURES, case)
    args_file = os.path.join(case_dir, "args")
    args = shlex.split(open(args_file).read()) if os.path.exists(args_file) else []
    result = run(dst, args)
    assert result.exit_code in (0, 1), result.output
    findings = open_findings(result)
    for name in inputs(case_dir):
        got = (dst / name).read_bytes()
        exp_path = os.path.join(case_dir, expected_name(name))
        if update_goldens:
            with open(exp_path, "wb") as fh:
                fh.write(got)
        assert os.path.exists(exp_path), f"{case}: missing {expected_name(name)}"
        with open(exp_path, "rb") as fh:
            assert got == fh.read(), f"{case}/{name}: output differs from {expected_name(name)}"
    findings_path = os.path.join(case_dir, "expected-findings.txt")
    if update_goldens:
        if findings:
            with open(findings_path, "w") as fh:
                fh.write("".join(f"{f}\n" for f in sorted(findings)))
        elif os.path.exists(findings_path):
            os.remove(findings_path)
    expected = set()
    if os.path.exists(findings_path):
        expected = {line.strip() for line in open(findings_path) if line.strip() and not line.startswith("#")}
    assert findings == expected, f"{case}: findings differ"
    # idempotent: a second run proposes nothing and changes no byte
    again = {n: (dst / n).read_bytes() for n in inputs(case_dir)}
    second = run(dst, args, mode="--diff")
    assert '"status": "changes pending"' not in second.stdout, f"{case}: second run still proposes changes"
    run(dst, args)
    for n, content in again.items():
        assert (dst / n).read_bytes() == content, f"{case}/{n}: second --write changed the file"


@pytest.mark.parametrize("case", CASES)
def test_expected_is_valid_compose(case):
    case_dir = os.path.join(FIXTURES, case)
    args_file = os.path.join(case_dir, "args")
    files = []
    if os.path.exists(args_file):
        args = shlex.split(open(args_file).read())
        files = [expected_name(a) for i, a in enumerate(args) if i > 0 and args[i - 1] in ("-f", "--file")]
    if not files:
        files = [expected_name(n) for n in inputs(case_dir) if n in ("compose.yaml", "compose.override.yaml")]
        files.sort(key=lambda n: n != "expected.yaml")
    env_file = os.path.join(case_dir, "compose-env")
    env = dict(line.strip().split("=", 1) for line in open(env_file) if "=" in line) if os.path.exists(env_file) else {}
    ok_in, _, err_in = compose_config([f.replace("expected", "compose", 1) for f in files], case_dir, extra_env=env)
    assert ok_in, f"{case}: the fixture's input is not valid for docker-compose: {err_in.strip()[-300:]}"
    ok, _, err = compose_config(files, case_dir, extra_env=env)
    assert ok, f"{case}: docker-compose rejects {files}: {err.strip()[-300:]}"
