"""Resource bounds: every file under --max-size is processed or refused, and a refusal names the
limit that was hit. The files are generated (tests/hostile.py), never committed.

What the bounds cost in CPU time and memory is measured by benchmarks/bench_hostile.py (a report
against 10 s and 1 GiB), not here: these tests check behaviour. The child runs under an address
space limit of 2 GiB and a CPU limit of 60 s so that a regression fails instead of taking the
machine down.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

import hostile


def _guard():
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))


def run(args, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    p = subprocess.run([sys.executable, "-m", "hardener", *args], cwd=cwd, capture_output=True, env=env,
                       preexec_fn=_guard, timeout=300)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


@pytest.mark.parametrize("name,make,outcome,words", hostile.SHAPES, ids=[s[0] for s in hostile.SHAPES])
def test_hostile_shape(tmp_path, name, make, outcome, words):
    data = make()
    assert len(data) <= 10 * 1024 * 1024
    (tmp_path / "compose.yaml").write_bytes(data)
    code, out, err = run(["--check", "compose.yaml"], tmp_path)
    assert "Traceback" not in err and code >= 0, err[-2000:]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    if outcome == "refuse":
        assert code == 2, (code, err[-2000:])
        assert len(errors) == 1, err[-2000:]
        for w in words:
            assert w in errors[0], errors[0]
        assert "bomb" not in errors[0] or name == "alias-bomb"
    else:
        assert code in (0, 1), (code, err[-2000:])
        assert errors == []
    assert (tmp_path / "compose.yaml").read_bytes() == data


def test_linear_merges_are_not_an_alias_bomb(tmp_path):
    """50,000 services merging one small anchor grow linearly: the refusal says which resource
    limit was hit, and nothing about an attack."""
    (tmp_path / "compose.yaml").write_bytes(hostile.merged_anchor(50_000, 4))
    code, _, err = run(["--check", "compose.yaml"], tmp_path)
    assert code == 2
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert "bomb" not in line and "attack" not in line
    assert "expand the document's 150,019 nodes to more than 250,000, the tool's resource limit" in line


def test_node_limit_holds_without_any_alias(tmp_path):
    data = hostile.many_services()
    assert b"*" not in data
    (tmp_path / "compose.yaml").write_bytes(data)
    code, _, err = run(["--diff", "compose.yaml"], tmp_path)
    assert code == 2
    assert "the document has more than 250,000 YAML nodes, the tool's resource limit" in err


def test_an_ordinary_large_file_is_hardened(tmp_path):
    """500 services (the largest real stacks have about 60) are nowhere near a limit."""
    (tmp_path / "compose.yaml").write_bytes(hostile.services(500))
    code, out, err = run(["--write", "compose.yaml"], tmp_path)
    assert code in (0, 1), err[-2000:]
    assert "error" not in err


def test_yaml_1_2_fallback_parser_only_for_small_files(tmp_path):
    """libyaml refuses [8080:80] (valid YAML 1.2); the slower pure-Python parser reads it, but
    only up to 256 KiB: past that the refusal says why."""
    small = "services:\n  web:\n    image: nginx\n    ports: [8080:80]\n"
    (tmp_path / "small.yaml").write_text(small)
    code, _, err = run(["--check", "small.yaml"], tmp_path)
    assert code in (0, 1), err
    big = small + "".join(f"  s{i}:\n    image: example/app\n    labels:\n      a: '{'x' * 40}'\n" for i in range(4000))
    assert len(big) > 256 * 1024
    (tmp_path / "big.yaml").write_text(big)
    code, _, err = run(["--check", "big.yaml"], tmp_path)
    assert code == 2
    assert "big.yaml:4:" in err and "only tried on files up to 256 KiB" in err, err


def test_the_edited_text_is_not_checked_again_from_events(tmp_path, monkeypatch):
    """A file with more brackets than the prescan allows has its depth checked from the parser's
    events once, on input; the verification's parse of the tool's own edit (a few shallow nodes
    added per service) is not checked again."""
    from hardener import yamlload
    from hardener.pipeline import harden_paths

    blocks = 2600  # 4 brackets a block: over the 10,000 of the prescan
    (tmp_path / "compose.yaml").write_text("services:\n" + "".join(
        f"  api{k}:\n    image: ghcr.io/acme/api\n    ports: ['{10000 + k}:80']\n    depends_on: [db{k}]\n"
        f"    environment: ['DB=postgres://db{k}/x']\n"
        f"  db{k}:\n    image: postgres:16\n    command: [postgres]\n" for k in range(blocks)), encoding="utf-8")
    calls = []
    real = yamlload._check_events
    monkeypatch.setattr(yamlload, "_check_events", lambda *a: calls.append(1) or real(*a))
    result = harden_paths([str(tmp_path / "compose.yaml")])
    assert result.error is None and result.changed_edits
    assert len(calls) == 1


def _counting(monkeypatch):
    """Record calls of the events check, and the nodes the C composer resolves."""
    from hardener import yamlload

    events, resolved = [], []
    real_events = yamlload._check_events
    monkeypatch.setattr(yamlload, "_check_events", lambda *a: events.append(1) or real_events(*a))
    real_resolve = yamlload.CoreResolver.resolve
    monkeypatch.setattr(yamlload.CoreResolver, "resolve", lambda *a: resolved.append(1) or real_resolve(*a))
    return events, resolved


@pytest.mark.skipif(not __import__("hardener.yamlload").yamlload.HAVE_CLIB, reason="the C composer counts")
def test_a_file_over_the_node_bound_is_counted_while_composing(monkeypatch):
    """A text whose indicators could hold more nodes than the limit (dashes in names, colons in
    URLs) but that holds fewer is composed once, counted as it goes: no pass over its events."""
    from hardener import yamlload

    limits = yamlload.Limits(max_nodes=2000)
    text = "services:\n" + "".join(f"  a-b-c-{i}:\n    image: x-y-z\n    command: http://a:b:c:d\n" for i in range(150))
    assert yamlload.node_bound(text) > limits.max_nodes
    events, _ = _counting(monkeypatch)
    doc = yamlload.load("c.yaml", text, limits)
    assert len(doc.data["services"]) == 150 and events == []


@pytest.mark.skipif(not __import__("hardener.yamlload").yamlload.HAVE_CLIB, reason="the C composer counts")
def test_the_composer_stops_at_the_node_limit_and_the_refusal_says_where(monkeypatch):
    from hardener import yamlload
    from hardener.errors import InputError

    limits = yamlload.Limits(max_nodes=2000)
    text = "services:\n" + "".join(f"  s{i}:\n    image: nginx\n    labels: [a, b, c]\n" for i in range(1000))
    events, resolved = _counting(monkeypatch)
    with pytest.raises(InputError) as err:
        yamlload.load("c.yaml", text, limits)
    assert len(resolved) == limits.max_nodes  # stopped at the next node: nothing more was built
    assert "more than 2,000 YAML nodes" in err.value.message and err.value.line is not None
    assert events == [1]  # only to say where


@pytest.mark.skipif(not __import__("hardener.yamlload").yamlload.HAVE_CLIB, reason="the C composer counts")
def test_explicitly_tagged_nodes_are_counted_from_events(monkeypatch):
    """The composer does not resolve a node with an explicit tag, so a text that could hold many
    of them has its nodes counted from the parser's events before anything is built."""
    from hardener import yamlload
    from hardener.errors import InputError

    limits = yamlload.Limits(max_nodes=2000)
    text = "x-tags: [" + ", ".join("!t a" for _ in range(3000)) + "]\n"
    events, resolved = _counting(monkeypatch)
    with pytest.raises(InputError) as err:
        yamlload.load("c.yaml", text, limits)
    assert "more than 2,000 YAML nodes" in err.value.message
    assert events == [1] and resolved == []  # refused before the composer ran


def _events_refusal(text, limits):
    """What counting every node from the parser's events says of ``text`` (None: within limits)."""
    from hardener import yamlload
    from hardener.errors import InputError

    try:
        yamlload._check_events("c.yaml", yamlload._yaml(False), text, limits, True)
    except InputError as exc:
        return exc.message, exc.line, exc.column
    return None


@pytest.mark.skipif(not __import__("hardener.yamlload").yamlload.HAVE_CLIB, reason="the C composer counts")
@pytest.mark.parametrize("body", [
    # merge sources with an explicit tag (fewer "!" than half the limit): neither resolved by the
    # composer nor counted by the builder
    lambda i: "  <<: !t {}\n" if i < 900 else f"  p{i}: v\n",
    # aliases: the events count each one as a node, the composer resolves none
    lambda i: f"  k{i}: *x\n",
])
def test_nodes_the_composer_does_not_resolve_are_counted_as_the_events_count_them(body):
    """Explicitly tagged nodes and aliases are not resolved by the composer: a text over the limit
    through them is refused exactly as counting from the events refuses it (message and line)."""
    from hardener import yamlload
    from hardener.errors import InputError

    limits = yamlload.Limits(max_nodes=2000)
    text = "x-a: &x v\nx-pad:\n" + "".join(body(i) for i in range(1100))
    assert yamlload.node_bound(text) > limits.max_nodes
    expected = _events_refusal(text, limits)
    assert expected is not None and "more than 2,000 YAML nodes" in expected[0]
    with pytest.raises(InputError) as err:
        yamlload.load("c.yaml", text, limits)
    assert (err.value.message, err.value.line, err.value.column) == expected


@pytest.mark.skipif(not __import__("hardener.yamlload").yamlload.HAVE_CLIB, reason="the C composer counts")
def test_a_text_within_the_limit_is_composed_though_its_marks_used_the_budget(monkeypatch):
    """The budget is the limit less the text's "!" and "*": a text that passes it but is within
    the limit (counted from the events) is composed all the same."""
    from hardener import yamlload

    limits = yamlload.Limits(max_nodes=2000)
    text = "x-pad:\n" + "".join(f"  k{i}: v\n" for i in range(700)) + "  note: '" + "*" * 900 + "'\n"
    assert yamlload.node_bound(text) > limits.max_nodes and _events_refusal(text, limits) is None
    events, _ = _counting(monkeypatch)
    doc = yamlload.load("c.yaml", text, limits)
    assert len(doc.data["x-pad"]) == 701 and events == [1]


def test_an_edit_that_takes_a_yaml_1_2_text_past_the_pure_parser_size_is_checked(tmp_path):
    """A text only the YAML 1.2 parser reads (libyaml refuses an anchor defined again) and just
    under the size it is tried on: the edit adds networks and takes it past that size, and the
    edited text is still read back and checked (it was refused as an internal error)."""
    from hardener import yamlload

    block = ("  web{k}: &s{k}\n    image: nginx:1.27\n    ports: ['{p}:80']\n    depends_on: [db{k}]\n"
             "  db{k}: &s{k}\n    image: postgres:16\n")
    services, k = [], 0
    while sum(map(len, services)) < yamlload.DEFAULT_LIMITS.max_chars_pure - 4096:
        services.append(block.format(k=k, p=10000 + k))
        k += 1
    text = "services:\n" + "".join(services)
    assert len(text) < yamlload.DEFAULT_LIMITS.max_chars_pure
    (tmp_path / "compose.yaml").write_text(text)
    code, out, err = run(["--diff", "-q", "compose.yaml"], tmp_path)
    assert code == 1 and "error" not in err, err[-2000:]
    added = sum(len(line) for line in out.splitlines(keepends=True) if line.startswith("+") and not line.startswith("+++"))
    assert len(text) + added > yamlload.DEFAULT_LIMITS.max_chars_pure  # the edit took it past the size
