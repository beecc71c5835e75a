"""Property tests: generated compose documents and mutated real ones.

Profiles (env var HYPOTHESIS_PROFILE, default "ci"):
  ci        60 examples per property (25 for the docker-compose one), no deadline
  thorough  2000 examples per property (300 for the docker-compose one)

Thorough run:
  HYPOTHESIS_PROFILE=thorough python -m pytest tests/test_properties.py -q

The generator renders compose documents as TEXT (so that comments, indentation, sequence style,
anchors, line endings, BOM and the final newline are all under its control) and records, for
every line it writes, whether the tool may legitimately remove or rewrite that line (a
``network_mode:`` line, a service's ``networks`` key and its items, a ``ports`` flow list of a
service whose host networking may be removed, an ``internal:`` flag, an empty-valued network
definition). The rule checked on the output:

* the lines the tool may not touch appear in the output, in order (a subsequence check, which
  unlike a greedy diff cannot be fooled by repeated lines such as ``    networks:``);
* every comment of the input is still in the output;
* every input line missing from the output (as a multiset) looks like a network line;
* the data outside the network keys is unchanged, and the output re-parses;
* a second run proposes nothing (idempotence);
* BOM, line-ending style and the presence of a final newline are kept.

The docker-compose property also checks, on ``docker-compose config --format json`` of input
and output, that every dependency (depends_on, hostnames named in environment values) that
shared a network before still shares one, and that a service publishing ports keeps a
non-internal network.

Every shape below once exposed a defect and has a deterministic regression test
(``test_bug_*`` below, or test_bad_input.py::test_valid_unusual_input_is_not_refused_by_a_bug);
the generator now produces all of them.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor

from conftest import CORPUS, docker_compose
from hardener.cli import cli

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", max_examples=2000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)
COMPOSE_EXAMPLES = {"ci": 25, "thorough": 300}.get(PROFILE, 25)
CORPUS_EXAMPLES = {"ci": 60, "thorough": 2000}.get(PROFILE, 60)

# --- the generator -------------------------------------------------------------------------------

DATA_IMAGES = ["postgres:16", "redis:7", "mariadb", "mongo", "bitnami/redis",
               "ghcr.io/x/postgres@sha256:" + "0123456789abcdef" * 4]
EDGE_IMAGES = ["nginx", "traefik:v3", "caddy", "nginx:1.25-alpine"]
APP_IMAGES = ["ghcr.io/acme/shop-api:2.3", "myorg/worker", "example/app:latest", "acme/billing:1"]
NETWORK_POOL = ["frontend", "backend", "appnet", "legacy", "shared"]
RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "default", "host", "bridge", "none",
            "y", "n"} | set(NETWORK_POOL)
NAMES = st.from_regex(r"[a-z][a-z0-9]{1,7}", fullmatch=True).filter(lambda s: s not in RESERVED)
COMMENT_CHARS = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789:-_.,;!?()'\"/=+*&%$@#"
PORTS = ['"8080:80"', '"127.0.0.1:5432:5432"', '"443:443"', '"3000:3000"',
         '"9000"', '"6379"']  # the last two: container port only, published on an ephemeral host port

NETWORKISH = re.compile(
    r"""^\s*(?:
        network_mode:.*
      | networks:.*
      | -\s*[A-Za-z0-9_.-]+
      | [A-Za-z0-9_.-]+:\s*(?:\{.*\}|~|null)?
      | internal:.*
      | ports:\s*\[.*\]
    )\s*(?:\#.*)?$""",
    re.X,
)


@dataclass
class Svc:
    name: str
    kind: str
    image: str | None
    build: str | None
    merge: bool
    mode: str | None
    networks: list[str] | None
    net_form: str
    ports: list[str]
    ports_flow: bool
    deps: list[str]
    dep_form: str
    env: list[tuple[str, str, str | None]]  # key, value, service named
    env_form: str
    volume: bool


@dataclass
class Spec:
    step: int
    seq_indent: bool
    crlf: bool
    bom: bool
    final_newline: bool
    anchor: str | None
    declared: dict[str, str]  # network -> definition style
    services: list[Svc]
    seed: int
    comment_rate: float
    version: bool
    blank_lines: bool
    order: list[str] = field(default_factory=list)

    def env_edges(self) -> list[tuple[str, str]]:
        return [(s.name, t) for s in self.services for _, _, t in s.env if t]


@st.composite
def specs(draw) -> Spec:
    n = draw(st.integers(1, 8))
    names = draw(st.lists(NAMES, min_size=n, max_size=n, unique=True))
    declared_names = draw(st.lists(st.sampled_from(NETWORK_POOL), unique=True, max_size=3))
    declared = {d: draw(st.sampled_from(["empty", "braces", "driver", "internal-false", "flow-driver"]))
                for d in declared_names}
    anchor = draw(st.sampled_from([None, None, "plain", "host", "nets"]))
    if anchor == "nets" and not declared:
        anchor = "plain"
    services = []
    for i, name in enumerate(names):
        kind = draw(st.sampled_from(["data", "data", "edge", "app", "app", "build"]))
        image = build = None
        if kind == "data":
            image = draw(st.sampled_from(DATA_IMAGES))
        elif kind == "edge":
            image = draw(st.sampled_from(EDGE_IMAGES))
        elif kind == "app":
            image = draw(st.sampled_from(APP_IMAGES))
        else:
            build = draw(st.sampled_from(["./app", "./services/" + name, "context"]))
        merge = anchor is not None and draw(st.booleans())
        mode = None
        networks = None
        if not (merge and anchor == "host"):
            if not (merge and anchor == "nets"):
                modes = [None, None, None, "host", "bridge"]
                mode = draw(st.sampled_from(modes))
            if mode is None and draw(st.booleans()):
                pool = list(declared) + ["default"]
                networks = draw(st.lists(st.sampled_from(pool), unique=True, min_size=1, max_size=3))
        net_form = draw(st.sampled_from(["block", "flow", "mapping"]))
        ports = draw(st.lists(st.sampled_from(PORTS), unique=True, max_size=2))
        services.append(Svc(
            name=name, kind=kind, image=image, build=build, merge=merge, mode=mode, networks=networks,
            net_form=net_form,
            ports=ports,
            ports_flow=draw(st.booleans()),
            deps=draw(st.lists(st.sampled_from(names[:i]), unique=True, max_size=3)) if i else [],
            dep_form=draw(st.sampled_from(["block", "flow", "mapping"])),
            env=[],
            env_form=draw(st.sampled_from(["mapping", "list"])),
            volume=kind == "data" and draw(st.booleans()),
        ))
    for s in services:
        for j in range(draw(st.integers(0, 3))):
            target = draw(st.sampled_from(names))
            form = draw(st.sampled_from(["url", "http", "hostport", "host", "plain"]))
            if target == s.name and form != "plain":
                form = "plain"
            key, value = {
                "url": (f"DATABASE_URL{j}", f"postgres://user:secret@{target}:5432/app"),
                "http": (f"API_URL{j}", f"http://{target}:8080/v1"),
                "hostport": (f"UPSTREAM{j}", f"{target}:6379"),
                "host": (f"{target.upper()}_HOST", target),
                "plain": (f"MODE{j}", "production"),
            }[form]
            s.env.append((key, value, target if form != "plain" else None))
        # unique keys
        seen = set()
        s.env = [e for e in s.env if not (e[0] in seen or seen.add(e[0]))]
    order = draw(st.permutations(["services", "networks", "volumes"]))
    return Spec(
        step=draw(st.sampled_from([2, 4])), seq_indent=draw(st.booleans()), crlf=draw(st.booleans()),
        bom=draw(st.booleans()), final_newline=draw(st.booleans()), anchor=anchor, declared=declared,
        services=services, seed=draw(st.integers(0, 2**31)), comment_rate=draw(st.sampled_from([0.0, 0.15, 0.4])),
        version=draw(st.booleans()), blank_lines=draw(st.booleans()), order=list(order),
    )


class Renderer:
    def __init__(self, spec: Spec):
        self.spec = spec
        self.rnd = random.Random(spec.seed)
        self.lines: list[tuple[str, bool]] = []  # (text, may be removed/rewritten by the tool)
        self.s = spec.step

    def comment(self) -> str:
        return "# " + "".join(self.rnd.choice(COMMENT_CHARS) for _ in range(self.rnd.randint(0, 24))).rstrip()

    def add(self, indent: int, text: str, removable: bool = False, inline: bool = True) -> None:
        if self.rnd.random() < self.spec.comment_rate:
            ci = self.rnd.choice([indent, indent, 0, max(indent - self.s, 0), indent + self.s])
            self.lines.append((" " * ci + self.comment(), False))
        line = " " * indent + text
        if inline and self.rnd.random() < self.spec.comment_rate:
            line += self.rnd.choice(["  ", " ", "\t"]) + self.comment()
        self.lines.append((line, removable))

    def seq(self, indent: int, key: str, items: list[str], flow: bool, removable: bool = False,
            flow_removable: bool | None = None) -> None:
        if flow:
            self.add(indent, f"{key}: [{', '.join(items)}]", removable if flow_removable is None else flow_removable)
            return
        self.add(indent, f"{key}:", removable)
        at = indent + (self.s if self.spec.seq_indent else 0)
        for it in items:
            self.add(at, f"- {it}", removable)

    def end_of_block(self, indent: int) -> None:
        if self.rnd.random() < self.spec.comment_rate:
            self.lines.append((" " * self.rnd.choice([0, indent]) + self.comment(), False))

    def blank(self) -> None:
        if self.spec.blank_lines:
            self.lines.append(("", False))

    def render(self) -> str:
        sp, s = self.spec, self.s
        if self.rnd.random() < sp.comment_rate:
            self.lines.append((self.comment(), False))
        if sp.version:
            self.add(0, 'version: "3.8"')
        if sp.anchor:
            self.add(0, "x-common: &common")
            self.add(s, "restart: unless-stopped")
            if sp.anchor == "host":
                self.add(s, "network_mode: host", removable=True)
            if sp.anchor == "nets":
                self.seq(s, "networks", list(sp.declared)[:2], flow=self.rnd.random() < 0.5, removable=True)
            self.add(s, "logging:")
            self.add(2 * s, "driver: json-file")
            self.end_of_block(s)
            self.blank()
        for section in sp.order:
            getattr(self, "render_" + section)()
        return self.finish()

    def render_services(self) -> None:
        s = self.s
        self.add(0, "services:")
        for svc in self.spec.services:
            self.add(s, f"{svc.name}:")
            self.service(svc, 2 * s)
            self.end_of_block(2 * s)
            self.blank()

    def service(self, svc: Svc, ind: int) -> None:
        host_possible = svc.mode == "host" or (svc.merge and self.spec.anchor == "host")
        parts = []
        if svc.merge:
            parts.append(lambda: self.add(ind, "<<: *common"))
        if svc.image:
            parts.append(lambda: self.add(ind, f"image: {svc.image}"))
        else:
            if self.rnd.random() < 0.5:
                parts.append(lambda: self.add(ind, f"build: {svc.build}"))
            else:
                def build():
                    self.add(ind, "build:")
                    self.add(ind + self.s, f"context: {svc.build}")
                    self.add(ind + self.s, "dockerfile: Dockerfile")
                parts.append(build)
        if svc.mode:
            parts.append(lambda: self.add(ind, f"network_mode: {svc.mode}", removable=True))
        if svc.ports:
            parts.append(lambda: self.seq(ind, "ports", svc.ports, svc.ports_flow,
                                          flow_removable=host_possible))
        if svc.deps:
            def deps():
                if svc.dep_form == "mapping":
                    self.add(ind, "depends_on:")
                    for d in svc.deps:
                        self.add(ind + self.s, f"{d}:")
                        self.add(ind + 2 * self.s, "condition: service_started")
                else:
                    self.seq(ind, "depends_on", svc.deps, svc.dep_form == "flow")
            parts.append(deps)
        if svc.env:
            def env():
                self.add(ind, "environment:")
                if svc.env_form == "mapping":
                    for k, v, _ in svc.env:
                        self.add(ind + self.s, f"{k}: {v}")
                else:
                    at = ind + (self.s if self.spec.seq_indent else 0)
                    for k, v, _ in svc.env:
                        self.add(at, f"- {k}={v}")
            parts.append(env)
        if svc.networks is not None:
            def nets():
                if svc.net_form == "mapping":
                    self.add(ind, "networks:", removable=True)
                    for n in svc.networks:
                        self.add(ind + self.s, f"{n}:" if self.rnd.random() < 0.7 else f"{n}: {{}}", removable=True)
                else:
                    self.seq(ind, "networks", svc.networks, svc.net_form == "flow", removable=True)
            parts.append(nets)
        if svc.volume:
            parts.append(lambda: self.seq(ind, "volumes", [f"{svc.name}-data:/data"], False))
        self.rnd.shuffle(parts)
        for p in parts:
            p()

    def render_networks(self) -> None:
        if not self.spec.declared:
            return
        s = self.s
        self.add(0, "networks:")
        for name, style in self.spec.declared.items():
            if style == "empty":
                self.add(s, f"{name}:")
            elif style == "braces":
                self.add(s, f"{name}: {{}}", removable=True)
            elif style == "flow-driver":
                self.add(s, f"{name}: {{driver: bridge}}", removable=True)
            elif style == "driver":
                self.add(s, f"{name}:")
                self.add(2 * s, "driver: bridge")
            else:
                self.add(s, f"{name}:")
                self.add(2 * s, "internal: false", removable=True)
        self.end_of_block(s)
        self.blank()

    def render_volumes(self) -> None:
        vols = [f"{svc.name}-data" for svc in self.spec.services if svc.volume]
        if not vols:
            return
        self.add(0, "volumes:")
        for v in vols:
            self.add(self.s, f"{v}:")
        self.blank()

    def finish(self) -> str:
        while self.lines and self.lines[-1][0] == "":
            self.lines.pop()
        return "\n".join(t for t, _ in self.lines) + "\n"


@dataclass
class Doc:
    spec: Spec
    text: str  # LF, no BOM
    removable: list[bool]

    def encode(self) -> bytes:
        t = self.text if self.spec.final_newline else self.text.rstrip("\n")
        if self.spec.crlf:
            t = t.replace("\n", "\r\n")
        return (("\ufeff" if self.spec.bom else "") + t).encode()


@st.composite
def documents(draw) -> Doc:
    spec = draw(specs())
    r = Renderer(spec)
    text = r.render()
    return Doc(spec, text, [rm for _, rm in r.lines])


# --- helpers -------------------------------------------------------------------------------------

# ruamel's own constructor (not the tool's builder) over the C parser: like Docker Compose and the
# tool it accepts a tab before a comment, which the pure-Python parser refuses.
_yaml = YAML(typ="safe", pure=False)


def _any_tag(constructor, tag_suffix, node):
    """Unknown tags (!reset, !override, ...) load as their plain value."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    if isinstance(node, MappingNode):
        return {constructor.construct_object(k, deep=True): constructor.construct_object(v, deep=True)
                for k, v in node.value}
    if isinstance(node, SequenceNode):
        return [constructor.construct_object(v, deep=True) for v in node.value]
    return constructor.construct_scalar(node)


class _LooseConstructor(SafeConstructor):
    pass


_LooseConstructor.add_multi_constructor("!", _any_tag)
_LooseConstructor.add_multi_constructor("tag:", _any_tag)
_yaml.Constructor = _LooseConstructor


def load_yaml(data: bytes):
    return _yaml.load(data.decode("utf-8-sig"))


def invoke(args, input=None):
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        raise AssertionError("crash (uncaught exception):\n" + "".join(traceback.format_exception(*result.exc_info)))
    return result


def is_subsequence(needles: list[str], hay: list[str]) -> tuple[bool, str | None]:
    it = iter(hay)
    for n in needles:
        for h in it:
            if h == n:
                break
        else:
            return False, n
    return True, None


def comment_of(line: str) -> str | None:
    """The comment of a line the generator wrote (no '#' ever appears inside values)."""
    i = line.find("#")
    return line[i:].rstrip() if i >= 0 else None


NETWORK_KEYS = ("networks", "network_mode", "ports")


def masked(data):
    """The data with everything the tool may change removed."""
    data = dict(data)
    data.pop("networks", None)
    svcs = {}
    for name, svc in (data.get("services") or {}).items():
        svcs[name] = {k: v for k, v in (svc or {}).items() if k not in NETWORK_KEYS}
    data["services"] = svcs
    for k in list(data):
        if k.startswith("x-") and isinstance(data[k], dict):
            data[k] = {kk: vv for kk, vv in data[k].items() if kk not in NETWORK_KEYS}
    return data


def check_output(doc: Doc, raw_in: bytes, raw_out: bytes) -> None:
    """The line-preservation rule and the byte-format rules."""
    spec = doc.spec
    assert raw_out.startswith(b"\xef\xbb\xbf") == spec.bom, "BOM not kept"
    assert not raw_out[3 if spec.bom else 0:].startswith(b"\xef\xbb\xbf"), "BOM doubled"
    if spec.crlf:
        assert raw_out.count(b"\n") == raw_out.count(b"\r\n"), "bare LF in a CRLF file"
    else:
        assert b"\r" not in raw_out, "CR in an LF file"
    assert raw_out.endswith(b"\n") == spec.final_newline, "final newline added or lost"
    in_lines = raw_in.decode("utf-8-sig").splitlines()
    out_lines = raw_out.decode("utf-8-sig").splitlines()
    assert len(in_lines) == len(doc.removable), "test bug: line bookkeeping"
    kept = [line for line, rm in zip(in_lines, doc.removable) if not rm]
    ok, missing = is_subsequence(kept, out_lines)
    assert ok, f"a line the tool must keep is missing or out of order: {missing!r}"
    out_text = "\n".join(out_lines)
    for line in in_lines:
        c = comment_of(line)
        if c and len(c) > 1:
            assert c in out_text, f"comment lost: {c!r}"
    gone = Counter(in_lines) - Counter(out_lines)
    for line in gone:
        assert NETWORKISH.match(line), f"a non-network line was removed or rewritten: {line!r}"


def run_and_check(doc: Doc, directory: str) -> tuple[bytes, int]:
    raw = doc.encode()
    path = os.path.join(directory, "compose.yaml")
    with open(path, "wb") as fh:
        fh.write(raw)
    note(f"input:\n{raw.decode('utf-8-sig')}")
    r = invoke(["--write", path])
    note(f"stderr:\n{r.stderr}")
    assert r.exit_code in (0, 1), f"exit {r.exit_code} for a valid document:\n{r.stderr}"
    assert "Traceback" not in r.output
    with open(path, "rb") as fh:
        out = fh.read()
    note(f"output:\n{out.decode('utf-8-sig')}")
    parsed = load_yaml(out)
    assert isinstance(parsed, dict) and "services" in parsed
    assert masked(parsed) == masked(load_yaml(raw)), "data outside the network keys changed"
    check_output(doc, raw, out)
    r2 = invoke(["--diff", path])
    assert r2.exit_code in (0, 1), r2.stderr
    assert r2.stdout == "", f"not idempotent, second run proposes:\n{r2.stdout}"
    with open(path, "rb") as fh:
        assert fh.read() == out, "--diff wrote the file"
    return out, r.exit_code


# --- property 1: generated documents --------------------------------------------------------------


@given(documents())
def test_generated_documents(doc):
    with tempfile.TemporaryDirectory() as d:
        run_and_check(doc, d)


@given(documents())
def test_generated_documents_stdin_equals_file(doc):
    """The same bytes through standard input give the same document as through a file."""
    raw = doc.encode()
    r = invoke(["--write", "-"], input=raw)
    assert r.exit_code in (0, 1), r.stderr
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "compose.yaml")
        with open(path, "wb") as fh:
            fh.write(raw)
        rf = invoke(["--write", "-q", path])
        assert rf.exit_code == r.exit_code
        with open(path, "rb") as fh:
            assert r.stdout_bytes == fh.read()


# --- property 2: docker-compose agrees, and dependencies keep a shared network -------------------


def compose_json(path: str, cwd: str):
    exe = docker_compose()
    if exe is None:
        pytest.fail("docker-compose not found: install the test extras (pip install -e '.[test]')")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    p = subprocess.run([exe, "-p", "hyp", "-f", path, "config", "--format", "json"], cwd=cwd,
                       capture_output=True, text=True, timeout=60, env=env)
    if p.returncode != 0 or not p.stdout.strip():
        return None, p.stderr
    return json.loads(p.stdout), p.stderr


def effective_networks(cfg: dict, name: str, depth: int = 0) -> set[str]:
    svc = cfg["services"][name]
    mode = svc.get("network_mode")
    if mode:
        if mode.startswith("service:") and depth < 10:
            return effective_networks(cfg, mode[len("service:"):], depth + 1)
        if mode == "host":
            return {"#host"}
        return set()  # bridge (no name resolution), none, container:...
    nets = svc.get("networks")
    return set(nets) if nets else {"default"}


@settings(max_examples=COMPOSE_EXAMPLES)
@given(documents())
def test_generated_documents_with_docker_compose(doc):
    with tempfile.TemporaryDirectory() as d:
        raw = doc.encode()
        path = os.path.join(d, "compose.yaml")
        with open(path, "wb") as fh:
            fh.write(raw)
        before, err = compose_json(path, d)
        assert before is not None, f"test bug: docker-compose rejects the generated input: {err}"
        run_and_check(doc, d)
        after, err = compose_json(path, d)
        with open(path, "rb") as fh:
            note(f"output:\n{fh.read().decode('utf-8-sig')}")
        assert after is not None, f"docker-compose rejects the hardened file: {err}"
        assert set(after["services"]) == set(before["services"])
        edges = set(doc.spec.env_edges())
        for name, svc in before["services"].items():
            for dep in (svc.get("depends_on") or {}):
                edges.add((name, dep))
        for a, b in sorted(edges):
            if a == b:
                continue
            shared_before = effective_networks(before, a) & effective_networks(before, b)
            if shared_before:
                shared_after = effective_networks(after, a) & effective_networks(after, b)
                assert shared_after, (
                    f"{a} -> {b} shared {sorted(shared_before)} before, nothing after: "
                    f"{a} on {sorted(effective_networks(after, a))}, {b} on {sorted(effective_networks(after, b))}")
        for name, svc in after["services"].items():
            if "#host" in effective_networks(after, name) and "#host" not in effective_networks(before, name):
                pytest.fail(f"{name} was put on host networking")
        check_published_ports_reachable(after)


def check_published_ports_reachable(cfg: dict) -> None:
    """Docker publishes no ports of a container whose networks are all internal."""
    nets = cfg.get("networks") or {}
    for name, svc in cfg["services"].items():
        if not svc.get("ports") or svc.get("network_mode"):
            continue
        mine = effective_networks(cfg, name)
        if mine and all((nets.get(n) or {}).get("internal") for n in mine):
            pytest.fail(f"{name} publishes {svc['ports']} but all its networks are internal: {sorted(mine)}")


# --- property 3: mutated real compose files ------------------------------------------------------


def corpus_files() -> list[str]:
    tsv = os.path.join(CORPUS, "SOURCES.tsv")
    if not os.path.isfile(tsv):
        return []
    out = []
    with open(tsv, encoding="utf-8") as fh:
        for row in fh.read().splitlines()[1:]:
            parts = row.split("\t")
            if len(parts) < 4 or parts[3] != "compose":
                continue
            path = os.path.join(CORPUS, parts[0].replace("/", "+"), parts[2])
            if os.path.isfile(path) and os.path.getsize(path) < 200_000:
                out.append(path)
    return sorted(out)


CORPUS_FILES = corpus_files()


@st.composite
def mutations(draw):
    ops = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "bytes", "truncate", "indent", "tab", "join"]))
        ops.append((kind, draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6)),
                    draw(st.binary(min_size=1, max_size=6))))
    return ops


def mutate(raw: bytes, ops) -> bytes:
    lines = raw.split(b"\n")
    for kind, a, b, junk in ops:
        if not lines:
            break
        i, j = a % len(lines), b % len(lines)
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "bytes":
            line = lines[i]
            k = b % (len(line) + 1)
            lines[i] = line[:k] + junk + line[k:]
        elif kind == "truncate":
            lines[i] = lines[i][: b % (len(lines[i]) + 1)]
        elif kind == "indent":
            delta = (b % 7) - 3
            line = lines[i]
            stripped = line.lstrip(b" ")
            lines[i] = b" " * max(len(line) - len(stripped) + delta, 0) + stripped
        elif kind == "tab":
            lines[i] = b"\t" + lines[i]
        elif kind == "join" and i + 1 < len(lines):
            lines[i:i + 2] = [lines[i] + b" " + lines[i + 1].lstrip()]
    return b"\n".join(lines)


@pytest.mark.skipif(not CORPUS_FILES, reason=f"no compose corpus at {CORPUS} (shared/corpus/SOURCES.tsv)")
@settings(max_examples=CORPUS_EXAMPLES)
@given(st.sampled_from(CORPUS_FILES or ["-"]), mutations())
def test_mutated_corpus_files(source, ops):
    with open(source, "rb") as fh:
        original = fh.read()
    data = mutate(original, ops)
    note(f"{source} mutated by {ops}")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "compose.yaml")
        with open(path, "wb") as fh:
            fh.write(data)
        r = invoke(["--write", path])
        note(f"exit {r.exit_code}\n{r.stderr}")
        event(f"exit {r.exit_code}")
        assert r.exit_code in (0, 1, 2)
        assert "Traceback" not in r.output
        with open(path, "rb") as fh:
            out = fh.read()
        if r.exit_code == 2:
            assert out == data, "a refused file changed on disk"
            errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and path in errors[0], r.stderr
            return
        parsed = load_yaml(out)
        assert isinstance(parsed, dict)
        r2 = invoke(["--diff", path])
        assert r2.exit_code in (0, 1), r2.stderr
        assert r2.stdout == "", f"not idempotent:\n{r2.stdout}"


# --- minimal reproductions of the defects the properties found ----------------------------------


def harden_text(tmp_path, text: str, name: str = "compose.yaml"):
    path = tmp_path / name
    path.write_text(text)
    r = invoke(["--write", str(path)])
    return r, path


def assert_hardened_ok(tmp_path, text: str):
    """Exit 0/1, docker-compose accepts the output, a second run proposes nothing."""
    r, path = harden_text(tmp_path, text)
    assert r.exit_code in (0, 1), r.stderr
    cfg, err = compose_json(str(path), str(tmp_path))
    assert cfg is not None, f"docker-compose rejects the output: {err}\n{path.read_text()}"
    r2 = invoke(["--diff", str(path)])
    assert r2.stdout == "", f"not idempotent, second run proposes:\n{r2.stdout}"
    return cfg, path


@pytest.mark.parametrize("ports", ['      - "6379"\n', "      - 6379\n", "      - target: 6379\n"],
                         ids=["short-string", "short-int", "long-syntax"])
def test_bug_container_port_only_is_published(tmp_path, ports):
    text = "services:\n  cache:\n    image: redis:7\n    ports:\n" + ports
    cfg, _ = assert_hardened_ok(tmp_path, text)
    check_published_ports_reachable(cfg)


@pytest.mark.parametrize("entry", ["default:", "default: {}"])
def test_bug_networks_mapping_only_default(tmp_path, entry):
    text = f"services:\n  cache:\n    image: redis:7\n    networks:\n      {entry}\n"
    assert_hardened_ok(tmp_path, text)


def test_bug_host_mode_anchor_with_ports(tmp_path):
    text = (
        "x-common: &common\n"
        "  network_mode: host\n"
        "services:\n"
        "  web:\n"
        "    image: nginx\n"
        "    <<: *common\n"
        "    ports:\n"
        '    - "443:443"\n'
        "  app:\n"
        "    networks: [default]\n"
        "    image: example/app\n"
    )
    assert_hardened_ok(tmp_path, text)


def test_bug_host_mode_with_segmentation(tmp_path):
    text = (
        "services:\n"
        "  app:\n"
        "    network_mode: host\n"
        "    image: example/app\n"
        "  db:\n"
        "    image: mariadb\n"
        "    environment:\n"
        "      URL: postgres://u:p@app:5432/x\n"
        "    networks:\n"
        "    - frontend\n"
        "networks:\n"
        "  frontend:\n"
    )
    assert_hardened_ok(tmp_path, text)


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_bug_final_newline_added_when_last_item_removed(tmp_path, newline):
    text = ("networks:\n  legacy:\nservices:\n  db:\n    image: postgres\n  web:\n    image: nginx\n"
            "    networks:\n      - legacy\n      - default")
    path = tmp_path / "compose.yaml"
    path.write_bytes(text.replace("\n", newline).encode())
    r = invoke(["--write", str(path)])
    assert r.exit_code in (0, 1), r.stderr
    out = path.read_bytes()
    assert out != text.replace("\n", newline).encode(), "test premise: the default item is removed"
    assert not out.endswith(b"\n"), f"final newline added: {out[-30:]!r}"


# --- property 3: the egress gateway --------------------------------------------------------------

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def _env(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(str(x).split("=", 1) if "=" in str(x) else (str(x), None) for x in env)
    return {str(k): (None if v is None else str(v)) for k, v in env.items()}


def _way_out(cfg, name):
    nets = cfg.get("networks") or {}
    return any(not (nets.get(n) or {}).get("internal") for n in effective_networks(cfg, name) if not n.startswith("#"))


@settings(max_examples=COMPOSE_EXAMPLES)
@given(documents())
def test_generated_documents_with_the_egress_gateway(doc):
    """Every routed service shares a network with the gateway; the gateway is the only member of
    a non-internal network; NO_PROXY names every service; both cases of each variable agree; no
    service that had a way out ends with neither a direct one nor the gateway; valid and idempotent."""
    with tempfile.TemporaryDirectory() as d:
        raw = doc.encode()
        path = os.path.join(d, "compose.yaml")
        with open(path, "wb") as fh:
            fh.write(raw)
        before, err = compose_json(path, d)
        assert before is not None, f"test bug: docker-compose rejects the generated input: {err}"
        r = invoke(["--write", "--egress-gateway", path])
        note(f"stderr:\n{r.stderr}")
        assert r.exit_code in (0, 1), r.stderr
        with open(path, "rb") as fh:
            out = fh.read()
        note(f"output:\n{out.decode('utf-8-sig')}")
        after, err = compose_json(path, d)
        assert after is not None, f"docker-compose rejects the output: {err}"
        r2 = invoke(["--diff", "--egress-gateway", path])
        assert r2.stdout == "", f"not idempotent:\n{r2.stdout}"
        services = after["services"]
        gw = next((n for n, s in services.items() if str(s.get("image", "")).startswith("ubuntu/squid")), None)
        routed = [n for n, s in services.items() if _env(s).get("HTTPS_PROXY", "").startswith("http://egress-gateway")]
        if routed:
            assert gw is not None
        for n in routed:
            env = _env(services[n])
            for var in PROXY_VARS:
                assert env.get(var) == env.get(var.lower()), f"{n}: {var} and {var.lower()} differ"
            names = set(env["NO_PROXY"].split(","))
            assert set(before["services"]) <= names, f"{n}: NO_PROXY misses {set(before['services']) - names}"
            assert effective_networks(after, n) & effective_networks(after, gw), f"{n} does not meet the gateway"
        if gw:
            nets = after.get("networks") or {}
            open_nets = [x for x in effective_networks(after, gw) if not (nets.get(x) or {}).get("internal")]
            assert open_nets, "the gateway has no way out"
            for x in open_nets:
                assert [m for m in services if x in effective_networks(after, m)] == [gw], f"{x} is not the gateway's alone"
        kinds = {s.name: s.kind for s in doc.spec.services}
        for n in before["services"]:
            if _way_out(before, n) and n in services and not _way_out(after, n):
                assert n in routed or kinds.get(n) == "data", f"{n} lost its way out without the gateway"
