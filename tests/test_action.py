"""The GitHub Action: action.yml is a least-privilege composite action, and its script, run
here with a fake GITHUB_STEP_SUMMARY / GITHUB_OUTPUT, writes what the workflow reads."""

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from sarif_check import validate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "action", "run.py")
TOOL = os.path.join(os.path.dirname(sys.executable), "compose-harden")

FLAT = """\
services:
  web:
    image: nginx:1.25
    ports: ["443:443"]
    depends_on: [db]
  db:
    image: postgres:16
    ports: ["5432:5432"]
"""


def action():
    with open(os.path.join(ROOT, "action.yml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def test_composite_least_privilege_and_no_expression_in_scripts():
    a = action()
    assert a["runs"]["using"] == "composite"
    assert set(a["inputs"]) == {"paths", "mode", "fail-on", "sarif", "markdown", "config"}
    text = open(os.path.join(ROOT, "action.yml"), encoding="utf-8").read()
    assert "token" not in text.lower().replace("needs no token", "")
    for step in a["runs"]["steps"]:
        assert "uses" not in step  # no third-party code runs inside the action
        assert "${{" not in step["run"], "inputs reach scripts through env only (no injection)"
    run_step = a["runs"]["steps"][-1]
    assert {f"INPUT_{k.upper().replace('-', '_')}" for k in a["inputs"]} == set(run_step["env"])
    for name, spec in a["outputs"].items():
        assert spec["value"] == f"${{{{ steps.{run_step['id']}.outputs.{name} }}}}"
    script = open(SCRIPT, encoding="utf-8").read()
    for name in a["outputs"]:
        assert f'"{name}"' in script


def read_outputs(path):
    text = open(path, encoding="utf-8").read()
    out, lines, i = {}, text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if m := re.match(r"^([\w-]+)<<(\S+)$", line):
            end = lines.index(m[2], i + 1)
            out[m[1]] = "\n".join(lines[i + 1:end])
            i = end + 1
        elif "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
            i += 1
        else:
            i += 1
    return out


def run_action(cwd, tmp, **inputs):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "COMPOSE_"))}
    env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
    env.update(GITHUB_STEP_SUMMARY=str(tmp / "summary.md"), GITHUB_OUTPUT=str(tmp / "output.txt"), RUNNER_TEMP=str(tmp))
    (tmp / "summary.md").write_text("# earlier step\n")
    p = subprocess.run([sys.executable, SCRIPT, TOOL], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    outputs = read_outputs(tmp / "output.txt") if (tmp / "output.txt").exists() else {}
    return p, outputs


@pytest.fixture
def workspace(tmp_path):
    ws = tmp_path / "ws"
    (ws / "deploy").mkdir(parents=True)
    (ws / "deploy" / "compose.yaml").write_text(FLAT)
    runner = tmp_path / "runner"
    runner.mkdir()
    return ws, runner


def test_check_mode_fails_writes_summary_outputs_sarif_and_annotations(workspace):
    ws, runner = workspace
    p, out = run_action(ws, runner, paths="deploy", mode="check", sarif="results.sarif")
    assert p.returncode == 1, p.stderr
    assert out["exit-code"] == "1" and out["changed"] == "true" and out["findings"] == "1"
    assert out["sarif"] == "results.sarif"
    validate(json.loads((ws / "results.sarif").read_text()))
    summary = (runner / "summary.md").read_text()
    assert summary.startswith("# earlier step\n## compose-harden")  # appended, not overwritten
    assert "```mermaid" in summary
    assert (runner / "compose-harden.md").read_text() in summary
    assert re.search(r"^::warning file=deploy/compose.yaml,line=8,col=5,title=compose-harden data-published-port::db: ", p.stdout, re.M)
    assert (ws / "deploy" / "compose.yaml").read_text() == FLAT


def test_write_mode_for_a_bot(workspace):
    ws, runner = workspace
    p, out = run_action(ws, runner, paths="deploy", mode="write", **{"fail_on": "error"}, markdown="body.md")
    assert p.returncode == 0, p.stderr
    assert out["exit-code"] == "0" and out["changed"] == "true" and out["findings"] == "1"
    assert "internal: true" in (ws / "deploy" / "compose.yaml").read_text() or "networks:" in (ws / "deploy" / "compose.yaml").read_text()
    assert (ws / "body.md").read_text().startswith("## compose-harden")
    assert "This change puts" in (ws / "body.md").read_text()


def test_diff_mode_prints_the_diff_to_the_log(workspace):
    ws, runner = workspace
    p, out = run_action(ws, runner, paths="deploy/compose.yaml", mode="diff", fail_on="never")
    assert p.returncode == 0 and out["exit-code"] == "0"
    assert "--- a/deploy/compose.yaml" in p.stdout


def test_nothing_to_do(workspace):
    ws, runner = workspace
    (ws / "deploy" / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n    networks: [a]\nnetworks:\n  a:\n")
    p, out = run_action(ws, runner, paths="deploy")
    assert p.returncode == 0 and out["changed"] == "false" and out["findings"] == "0"


@pytest.mark.parametrize("inputs, message", [({"mode": "fix"}, "mode must be one of"),
                                              ({"fail_on": "always"}, "fail-on must be one of")])
def test_bad_inputs(workspace, inputs, message):
    ws, runner = workspace
    p, _ = run_action(ws, runner, **inputs)
    assert p.returncode == 2 and message in p.stderr and p.stdout.startswith("::error ")
