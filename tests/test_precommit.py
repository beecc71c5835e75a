"""The pre-commit hooks, run for real: `pre-commit try-repo` of this project (as a commit of its
current files) against a temporary git repository holding a compose file."""

import os
import shutil
import subprocess
import sys

import pytest


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FLAT = """\
services:
  web:
    image: nginx:1.25
    ports: ["443:443"]
    depends_on: [db]
  db:
    image: postgres:16
"""


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"})


def project_files():
    """The project's files as git sees them (tracked and new, ignoring what .gitignore ignores)."""
    p = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                       capture_output=True)
    if p.returncode == 0 and p.stdout:
        return [f for f in p.stdout.decode().split("\0") if f and os.path.isfile(os.path.join(ROOT, f))]
    out = []
    for dirpath, dirnames, files in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in (".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis")]
        out += [os.path.relpath(os.path.join(dirpath, f), ROOT) for f in files]
    return out


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory):
    """This project as a one-commit repository (try-repo installs hooks from a commit)."""
    dst = tmp_path_factory.mktemp("hooks") / "compose-harden"
    for f in project_files():
        if f.startswith(("fixtures/", "benchmarks/")):
            continue
        os.makedirs(os.path.dirname(dst / f), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, f), dst / f)
    git("init", "-q", cwd=dst)
    git("add", "-A", cwd=dst)
    git("commit", "-qm", "snapshot", cwd=dst)
    return dst


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory):
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def user_repo(tmp_path):
    repo = tmp_path / "user"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy" / "docker-compose.yml").write_text(FLAT)
    (repo / "notes.yaml").write_text("services: not a compose file name\n")
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "init", cwd=repo)
    return repo


def try_repo(hook_repo, hook, repo, home):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "COMPOSE_"))}
    env["PRE_COMMIT_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), hook, "--all-files"],
                          cwd=repo, capture_output=True, text=True, env=env, timeout=900)


def test_manifest_lists_both_hooks_for_compose_files():
    import re

    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load(open(os.path.join(ROOT, ".pre-commit-hooks.yaml")))}
    assert set(hooks) == {"compose-harden", "compose-harden-fix"}
    assert "--check" in hooks["compose-harden"]["entry"] and "--write" in hooks["compose-harden-fix"]["entry"]
    for h in hooks.values():
        rx = re.compile(h["files"])
        for name in ("compose.yaml", "a/docker-compose.yml", "compose.prod.yaml", "x/docker-compose.override.yml"):
            assert rx.search(name), name
        for name in ("notes.yaml", "composer.json", "my-compose.yaml.bak"):
            assert not rx.search(name), name


def test_checking_hook_fails_on_a_flat_stack_and_fixing_hook_hardens_it(hook_repo, user_repo, pre_commit_home):
    p = try_repo(hook_repo, "compose-harden", user_repo, pre_commit_home)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "would harden deploy/docker-compose.yml" in p.stdout
    assert (user_repo / "deploy" / "docker-compose.yml").read_text() == FLAT

    p = try_repo(hook_repo, "compose-harden-fix", user_repo, pre_commit_home)
    assert p.returncode == 1, p.stdout + p.stderr  # files were modified by this hook
    assert "files were modified by this hook" in p.stdout
    hardened = (user_repo / "deploy" / "docker-compose.yml").read_text()
    assert "internal: true" in hardened

    git("add", "-A", cwd=user_repo)
    p = try_repo(hook_repo, "compose-harden", user_repo, pre_commit_home)
    assert p.returncode == 0, p.stdout + p.stderr
    p = try_repo(hook_repo, "compose-harden-fix", user_repo, pre_commit_home)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (user_repo / "deploy" / "docker-compose.yml").read_text() == hardened
