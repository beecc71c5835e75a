"""The safety net: whatever the planner decides, nothing is written that the project read back
from the edited text shows to cut a dependency, take away a needed way out, or leave published
ports on internal networks only. Each test breaks the planner on purpose and checks the refusal."""

import textwrap

import pytest
from click.testing import CliRunner

from hardener.cli import cli
from hardener.plan.internal import Internal
from hardener.plan.keep import Keep

STACK = textwrap.dedent("""\
    services:
      web:
        image: nginx:1.27
        ports: ["80:80"]
        depends_on: [api]
      api:
        image: ghcr.io/example/api:1
        environment:
          DB_HOST: db
      worker:
        image: ghcr.io/example/worker:1
        environment:
          DB_HOST: db
        networks: [store]
      db:
        image: postgres:16
        networks: [store, default]
    networks:
      store:
    """)


def run(tmp_path, *args):
    path = tmp_path / "compose.yaml"
    path.write_text(STACK)
    result = CliRunner().invoke(cli, ["--write", str(path), *args], catch_exceptions=False)
    return result, path.read_text()


def test_the_stack_hardens_when_the_planner_is_right(tmp_path):
    result, text = run(tmp_path)
    assert result.exit_code in (0, 1), result.output
    assert text != STACK


def test_a_cut_dependency_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(Keep, "keep", lambda self, *a, **k: None)  # the planner forgets dependencies
    result, text = run(tmp_path)
    assert result.exit_code == 2
    assert "would break the stack" in result.output and "no longer reaches" in result.output
    assert text == STACK


def test_a_lost_way_out_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(Internal, "has_way_out", lambda self, *a: True)  # the planner forgets egress
    result, text = run(tmp_path)
    assert result.exit_code == 2
    assert "lost its way out" in result.output
    assert text == STACK
