"""Folder mode: which files are read and written, and which files form which projects.

* one scope rule for every path read or written in folder mode: a link leading out of the folder
  searched is never read or written, whatever name points at it (the default file and its
  override included);
* every compose-like name is found; vendored and third-party trees are skipped with one line;
* files that run with the default file (override files, files adding services) are hardened
  together with it, as ``docker compose -f base -f overlay`` runs them, so that no plan is
  computed without its base and the merged project keeps every connection; a comment-only
  overlay is not an error; component files that variants ``extends`` are not projects.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from click.testing import CliRunner

from conftest import compose_config
from hardener.cli import cli
from hardener.errors import InputError
from hardener.source import read_source

STACK = """\
services:
  web:
    image: nginx:1.27
    ports: ["80:80"]
    depends_on: [api]
  api:
    image: example/api:1
    environment:
      DATABASE_URL: postgres://db:5432/app
  db:
    image: postgres:16
"""


def invoke(args, cwd):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
    return r


def tree(base, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def snapshot(base) -> dict[str, bytes]:
    out = {}
    for dirpath, _, filenames in os.walk(base):
        for f in filenames:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                with open(p, "rb") as fh:
                    out[os.path.relpath(p, base)] = fh.read()
    return out


def model(files, cwd):
    """Compose's own model of the project: service -> its networks, and the internal networks."""
    ok, out, err = compose_config(files, str(cwd), fmt="json")
    assert ok, err
    data = json.loads(out)
    nets = {n: set(s.get("networks") or {}) for n, s in data["services"].items()}
    internal = {n for n, v in (data.get("networks") or {}).items() if v.get("internal")}
    return nets, internal


# --- one scope rule ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["--write", "--diff", "--check"])
def test_links_leading_out_of_the_folder_are_never_read_or_written(tmp_path, mode):
    """With a sibling compose file present, a compose.yaml and an override linked from outside
    the folder are neither rewritten nor read and merged (the default selection goes through the
    same rule as every other file)."""
    outside = tmp_path / "outside"
    proj = tmp_path / "proj"
    tree(outside, {"compose.yaml": STACK, "override.yaml": "services:\n  db:\n    ports: ['5432:5432']\n"})
    proj.mkdir()
    os.symlink("../outside/compose.yaml", proj / "compose.yaml")
    os.symlink(str(outside / "override.yaml"), proj / "compose.override.yaml")
    (proj / "docker-compose.prod.yml").write_text(STACK)
    (proj / "sub").mkdir()
    os.symlink("../../outside", proj / "sub" / "linked")
    before = snapshot(outside)
    r = invoke([mode, "proj"], tmp_path)
    assert r.exit_code in (0, 1), r.output
    assert snapshot(outside) == before
    assert "proj/compose.yaml" not in r.stdout and "proj/compose.override.yaml" not in r.stdout
    skipped = [line for line in r.stderr.splitlines() if line.startswith("skipped:")]
    assert len(skipped) == 1, r.stderr
    for name in ("proj/compose.yaml (a link leading out of proj)", "proj/compose.override.yaml (a link leading out",
                 "proj/sub/linked/ (a link leading out"):
        assert name in skipped[0]
    assert "db" not in [line for line in r.stderr.splitlines() if "5432" in line]
    assert "proj/docker-compose.prod.yml" in r.stdout + r.stderr


def test_override_linked_from_outside_is_not_merged(tmp_path):
    outside = tmp_path / "outside"
    tree(outside, {"o.yaml": "services:\n  db:\n    ports: ['5432:5432']\n"})
    tree(tmp_path / "proj", {"compose.yaml": STACK})
    os.symlink(str(outside / "o.yaml"), tmp_path / "proj" / "compose.override.yaml")
    r = invoke(["--write", "proj"], tmp_path)
    assert r.exit_code in (0, 1), r.output
    assert "proj/compose.yaml: " in r.stderr and "compose.override.yaml:" not in r.stderr.replace("skipped:", "")
    assert "data-published-port" not in r.stderr, "the outside override was read"
    assert (outside / "o.yaml").read_text() == "services:\n  db:\n    ports: ['5432:5432']\n"


def test_links_inside_the_folder_are_followed(tmp_path):
    tree(tmp_path / "proj", {"real/stack.yaml": STACK})
    os.symlink("real/stack.yaml", tmp_path / "proj" / "compose.yaml")
    r = invoke(["--write", "proj"], tmp_path)
    assert r.exit_code in (0, 1), r.output
    assert os.path.islink(tmp_path / "proj" / "compose.yaml")
    assert "networks:" in (tmp_path / "proj" / "real" / "stack.yaml").read_text()


def test_the_folder_itself_may_be_a_link(tmp_path):
    tree(tmp_path / "real", {"compose.yaml": STACK})
    os.symlink("real", tmp_path / "proj")
    r = invoke(["--write", "proj"], tmp_path)
    assert r.exit_code in (0, 1), r.output
    assert "networks:" in (tmp_path / "real" / "compose.yaml").read_text()


def test_the_rule_holds_when_the_file_is_read(tmp_path):
    """A link swapped between the search and the read is caught by the same rule at read time."""
    tree(tmp_path, {"outside/c.yaml": STACK, "proj/x": ""})
    os.symlink("../outside/c.yaml", tmp_path / "proj" / "compose.yaml")
    with pytest.raises(InputError, match="a link leading out of"):
        read_source(str(tmp_path / "proj" / "compose.yaml"), scope=str(tmp_path / "proj"))
    assert read_source(str(tmp_path / "proj" / "compose.yaml")).text == STACK  # a file argument: followed


# --- names and skipped trees ----------------------------------------------------------------------

NAMES = ["docker-compose_v3_alpine_mysql.yaml", "compose_components.yml", "docker-compose-dev.yml",
         "compose.prod.yaml", "docker-compose.staging.yml", "prod.compose.yaml", "Docker-Compose.yml"]


@pytest.mark.parametrize("name", NAMES)
def test_compose_like_names_are_found(tmp_path, name):
    tree(tmp_path, {f"d/{name}": STACK, "d/composer.yaml": "a: 1\n", "d/decompose.yml": "a: 1\n"})
    r = invoke(["--check", "."], tmp_path)
    assert r.stdout.splitlines() == [f"would harden d/{name}"], r.output


def test_vendored_trees_are_skipped_with_one_line(tmp_path):
    files = {"app/compose.yaml": STACK}
    for d in ("vendor/lib", "third_party/x", "node_modules/pkg", ".venv/lib/python3.11/site-packages/p",
              "lib/site-packages/p", ".git/x"):
        files[f"{d}/docker-compose.yml"] = STACK
    tree(tmp_path, files)
    r = invoke(["--check", "."], tmp_path)
    assert r.stdout.splitlines() == ["would harden app/compose.yaml"], r.output
    skipped = [line for line in r.stderr.splitlines() if line.startswith("skipped:")]
    assert skipped == ["skipped: .venv/, lib/site-packages/, node_modules/, third_party/, vendor/ "
                       "(vendored or third-party code)"], r.stderr


# --- overlays ---------------------------------------------------------------------------------------

FULL = """\
# more services for the full demo
services:
  api:
    environment:
      FEATURE: "on"
  worker:
    image: example/worker:1
    environment:
      DATABASE_URL: postgres://db:5432/app
"""
OBSERVABILITY = """\
services:
  prometheus:
    image: prom/prometheus:v2.53.0
    volumes:
      - ./prometheus.yml:/etc/prometheus/prometheus.yml:ro
  grafana:
    image: grafana/grafana:11.0.0
    ports: ["3000:3000"]
    depends_on: [prometheus]
"""
PROMETHEUS = 'scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ["api:9100", "worker:9100"]\n'


NGINX = "server {\n  listen 80;\n  location / { proxy_pass http://api:8080; }\n}\n"
ROUTED = STACK.replace('    depends_on: [api]\n', '    depends_on: [api]\n    volumes:\n      - ./nginx.conf:/etc/nginx/conf.d/default.conf:ro\n', 1)


def test_overlays_are_hardened_with_their_base(tmp_path):
    tree(tmp_path, {"compose.yaml": ROUTED, "compose.full.yaml": FULL, "compose.observability.yaml": OBSERVABILITY,
                    "prometheus.yml": PROMETHEUS, "nginx.conf": NGINX, "compose.extras.yaml": "# nothing here yet\n"})
    merged = ["compose.yaml", "compose.full.yaml", "compose.observability.yaml"]
    r = invoke(["--write", "."], tmp_path)
    assert r.exit_code in (0, 1), r.output
    assert "compose.yaml + compose.full.yaml + compose.observability.yaml: " in r.stderr
    assert ("compose.full.yaml, compose.observability.yaml: run with compose.yaml (adding to or overriding its "
            "services): hardened together, as docker compose -f compose.yaml -f compose.full.yaml "
            "-f compose.observability.yaml runs them") in r.stderr
    assert "compose.extras.yaml: empty (no YAML document, only comments): nothing to harden" in r.stderr
    nets, internal = model(merged, tmp_path)
    for a, b in [("web", "api"), ("api", "db"), ("worker", "db"), ("prometheus", "api"), ("prometheus", "worker"),
                 ("grafana", "prometheus")]:
        assert nets[a] & nets[b], f"{a} no longer reaches {b}: {nets}"
    assert not nets["web"] & nets["db"], "not segmented"
    assert nets["db"] <= internal
    for files in (["compose.yaml"], ["compose.yaml", "compose.full.yaml"], ["compose.observability.yaml"]):
        ok, _, err = compose_config(files, str(tmp_path))
        assert ok, f"{files} no longer valid: {err}"
    assert invoke(["--diff", "."], tmp_path).stdout == "", "not idempotent"


def test_comment_only_or_empty_overlay_is_not_an_error(tmp_path):
    tree(tmp_path, {"compose.yaml": "services:\n  web:\n    image: nginx\n", "compose.extras.yaml": "# later\n",
                    "compose.empty.yaml": ""})
    r = invoke(["--write", "."], tmp_path)
    assert r.exit_code == 0, r.output
    assert "compose.extras.yaml: empty" in r.stderr and "compose.empty.yaml: empty" in r.stderr
    assert "error" not in r.output
    r = invoke(["--check", "-f", "compose.yaml", "-f", "compose.extras.yaml", "-f", "compose.empty.yaml"], tmp_path)
    assert r.exit_code == 0, r.output
    assert r.stdout == "ok compose.yaml + compose.extras.yaml + compose.empty.yaml\n"


def test_override_without_a_default_file(tmp_path):
    """docker-compose.base.yml + docker-compose.prod.yml: the override-only file is merged with
    the complete file whose services it names; one naming nothing is skipped with the command."""
    tree(tmp_path, {"a/docker-compose.base.yml": STACK,
                    "a/docker-compose.prod.yml": "services:\n  api:\n    restart: always\n",
                    "b/compose.prod.yaml": "services:\n  api:\n    restart: always\n"})
    r = invoke(["--check", "."], tmp_path)
    assert "would harden a/docker-compose.base.yml + a/docker-compose.prod.yml" in r.stdout, r.output
    assert ("b/compose.prod.yaml: skipped, an override file with no base file beside it (a service has no image "
            "and no build): harden it together with its base: -f BASE -f b/compose.prod.yaml") in r.stderr


def test_a_complete_copy_of_the_default_file_is_a_project_of_its_own(tmp_path):
    prod = STACK.replace("example/api:1", "registry.example.com/api:1.4")
    tree(tmp_path, {"compose.yaml": STACK, "docker-compose.prod.yml": prod})
    r = invoke(["--check", "."], tmp_path)
    assert sorted(r.stdout.splitlines()) == ["would harden compose.yaml", "would harden docker-compose.prod.yml"]


def test_variants_extending_component_files(tmp_path):
    components = ("services:\n  web:\n    image: nginx:1.27\n    ports: ['80:80']\n  php:\n    image: php:8.3-fpm\n"
                  "  mysql:\n    image: mysql:8.4\n  postgres:\n    image: postgres:16\n")

    def variant(db):
        return ("services:\n  web:\n    extends: {file: compose_components.yaml, service: web}\n    depends_on: [php]\n"
                "  php:\n    extends: {file: compose_components.yaml, service: php}\n    environment:\n"
                f"      DB_HOST: {db}\n  {db}:\n    extends: {{file: compose_components.yaml, service: {db}}}\n")

    tree(tmp_path, {"compose_components.yaml": components, "docker-compose_v3_alpine_mysql.yaml": variant("mysql"),
                    "docker-compose_v3_alpine_postgres.yaml": variant("postgres")})
    r = invoke(["--write", "."], tmp_path)
    assert r.exit_code in (0, 1), r.output
    assert ("compose_components.yaml: not a project of its own: it provides services that "
            "docker-compose_v3_alpine_mysql.yaml, docker-compose_v3_alpine_postgres.yaml extend") in r.stderr
    assert (tmp_path / "compose_components.yaml").read_text() == components
    for db in ("mysql", "postgres"):
        name = f"docker-compose_v3_alpine_{db}.yaml"
        assert f"hardened {name}" in r.stderr
        nets, internal = model([name], tmp_path)
        assert nets["web"] & nets["php"] and nets["php"] & nets[db] and not nets["web"] & nets[db]
        assert nets[db] <= internal


def test_stdin_and_file_arguments_are_not_scoped(tmp_path):
    """Outside folder mode the user named the file: a link is followed (and written through)."""
    tree(tmp_path, {"outside/c.yaml": STACK, "proj/x": ""})
    os.symlink("../outside/c.yaml", tmp_path / "proj" / "compose.yaml")
    r = invoke(["--write", "proj/compose.yaml"], tmp_path)
    assert r.exit_code in (0, 1), r.output
    assert "networks:" in (tmp_path / "outside" / "c.yaml").read_text()
    shutil.rmtree(tmp_path / "outside")
