"""Campaigns over many repositories: the exit-code contract of the multi-gitter script (a pull
request only when it exits 0 and left changes), and the example workflows (valid, using the
action's real inputs and outputs, least privilege)."""

import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "examples", "multi-gitter", "harden.sh")
BIN = os.path.dirname(sys.executable)

FLAT_WITH_FINDING = """\
services:
  web:
    image: nginx:1.25
    ports: ["443:443"]
    depends_on: [db]
  db:
    image: postgres:16
    ports: ["5432:5432"]
"""
CLEAN = "services:\n  web:\n    image: nginx\n    networks: [a]\nnetworks:\n  a:\n"


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}).stdout


def repository(tmp_path, files):
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "init", "--allow-empty", cwd=repo)
    return repo


def multi_gitter(repo, bodies):
    """What multi-gitter does per repository: run the script in its root, then look at git."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env.update(PATH=BIN + os.pathsep + env.get("PATH", ""), REPOSITORY="example-org/shop",
               COMPOSE_HARDEN_BODIES=str(bodies))
    p = subprocess.run(["sh", SCRIPT], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    changed = git("status", "--porcelain", cwd=repo).rstrip("\n")
    opens_pr = p.returncode == 0 and bool(changed)
    return p, changed, opens_pr


def test_hardened_with_findings_left_opens_a_pull_request(tmp_path):
    repo = repository(tmp_path, {"deploy/docker-compose.yml": FLAT_WITH_FINDING, "README.md": "x\n"})
    p, changed, opens_pr = multi_gitter(repo, tmp_path / "bodies")
    assert opens_pr, p.stderr
    assert changed.splitlines() == [" M deploy/docker-compose.yml"]  # nothing else left in the repository
    body = (tmp_path / "bodies" / "example-org_shop.md").read_text()
    assert body.startswith("## compose-harden") and "data-published-port" in body


def test_nothing_to_change_opens_none(tmp_path):
    repo = repository(tmp_path, {"compose.yaml": CLEAN})
    p, changed, opens_pr = multi_gitter(repo, tmp_path / "bodies")
    assert p.returncode == 0 and not changed and not opens_pr


def test_no_compose_file_opens_none_and_is_no_failure(tmp_path):
    repo = repository(tmp_path, {"README.md": "no stack here\n"})
    p, changed, opens_pr = multi_gitter(repo, tmp_path / "bodies")
    assert p.returncode == 0 and not changed


def test_a_file_that_cannot_be_processed_opens_none(tmp_path):
    repo = repository(tmp_path, {"a/compose.yaml": FLAT_WITH_FINDING, "b/compose.yaml": "services:\n  x: [\n"})
    p, changed, opens_pr = multi_gitter(repo, tmp_path / "bodies")
    assert p.returncode == 2 and not opens_pr
    assert "error: b/compose.yaml:3:1:" in p.stderr


def test_acknowledged_findings_only_opens_none(tmp_path):
    text = CLEAN.replace("    image: nginx\n", "    image: nginx\n    x-compose-harden: {accept: {flat-network: legacy}}\n")
    repo = repository(tmp_path, {"compose.yaml": text})
    p, changed, opens_pr = multi_gitter(repo, tmp_path / "bodies")
    assert p.returncode == 0 and not changed


def workflow(name):
    with open(os.path.join(ROOT, "examples", "github", name), encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.mark.parametrize("name", ["code-scanning.yml", "bot.yml", "matrix.yml"])
def test_example_workflows_use_the_action_as_it_is(name):
    with open(os.path.join(ROOT, "action.yml"), encoding="utf-8") as f:
        action = yaml.safe_load(f)
    wf = workflow(name)
    assert wf["permissions"] == {"contents": "read"}  # least privilege at the top, widened per job
    for job in wf["jobs"].values():
        steps = job["steps"]
        ours = [s for s in steps if "compose-harden/compose-harden@" in s.get("uses", "")]
        assert len(ours) == 1
        assert set(ours[0]["with"]) <= set(action["inputs"])
        assert ours[0]["with"]["mode"] in ("check", "diff", "write")
        text = yaml.safe_dump(steps)
        for output in __import__("re").findall(r"steps\.harden\.outputs\.([\w-]+)", text):
            assert output in action["outputs"], output
    if name == "code-scanning.yml":
        (job,) = wf["jobs"].values()
        assert job["permissions"]["security-events"] == "write"
        upload = next(s for s in job["steps"] if "upload-sarif" in s.get("uses", ""))
        assert upload["with"]["sarif_file"] == ours[0]["with"]["sarif"]
    else:
        (job,) = wf["jobs"].values()
        pr = next(s for s in job["steps"] if "create-pull-request" in s.get("uses", ""))
        assert pr["with"]["body-path"] == "${{ steps.harden.outputs.markdown }}"
        assert pr["if"] == "steps.harden.outputs.changed == 'true'"
        assert ours[0]["with"]["fail-on"] == "error"


def test_readme_shows_the_examples_as_they_are():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    for rel in ("github/code-scanning.yml", "github/bot.yml", "github/matrix.yml", "multi-gitter/harden.sh"):
        text = open(os.path.join(ROOT, "examples", rel), encoding="utf-8").read()
        assert text in readme, f"README.md does not show examples/{rel} as it is"
