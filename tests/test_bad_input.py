"""Hostile and broken input: every file that cannot be processed is refused cleanly.

For a file the tool cannot process the contract is: exit status 2, ONE line on stderr naming the
file (with ``:line:column`` where the problem has a position), no Python traceback, the file
byte-identical on disk, and every other file given in the same run still processed.

Everything runs the real command in a subprocess (``python -m hardener``): a crash of the C
composer (SIGSEGV) must show up as a failing test, not take pytest down with it.

The permission tests need a user that file permission bits apply to. CI runs as root, which
ignores them, so as root the command runs in a subprocess that drops to uid/gid 65534 (nobody)
once the interpreter and the package are loaded (the interpreter lives under /root, which nobody
cannot enter, so dropping before exec is not possible); without that ability they are skipped
with the reason.

The last section holds VALID compose files (Docker Compose accepts them) that the tool must not
refuse with an internal error or a traceback.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import compose_config

HANG_GUARD = 10.0  # seconds: a hang guard for bombs and deep nesting, not a benchmark
NOBODY = 65534

GOOD = """\
services:
  web:
    image: nginx:1.25-alpine
    ports:
      - "443:443"
    depends_on:
      - api
  api:
    image: ghcr.io/example/shop-api:2.3
    environment:
      DATABASE_URL: postgres://shop:secret@db:5432/shop
  db:
    image: postgres:16
"""


# --- helpers ------------------------------------------------------------------------------------


class Run:
    def __init__(self, p: subprocess.CompletedProcess, elapsed: float):
        self.code = p.returncode
        self.out = p.stdout.decode("utf-8", "replace")
        self.err = p.stderr.decode("utf-8", "replace")
        self.elapsed = elapsed

    def __repr__(self) -> str:
        return f"<exit {self.code} after {self.elapsed:.2f}s\n--- stdout\n{self.out[-3000:]}\n--- stderr\n{self.err[-3000:]}>"


def run_cli(args, cwd, stdin: bytes | None = None, prefix=None, timeout=60) -> Run:
    cmd = (prefix or [sys.executable, "-m", "hardener"]) + list(args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, input=stdin if stdin is not None else b"", capture_output=True,
                       timeout=timeout, env=env)
    return Run(p, time.monotonic() - t0)


def no_traceback(r: Run) -> None:
    assert "Traceback" not in r.out and "Traceback" not in r.err, r
    # nor a Python warning ("/path/module.py:227: SomeWarning: ...") from a library
    assert not re.search(r"\.py:\d+: \w*Warning", r.err), r
    assert r.code >= 0, f"killed by signal {-r.code}: {r!r}"


def error_lines(r: Run, name: str) -> list[str]:
    """The error lines on stderr that name ``name`` (a write failure may follow the file's plan
    summary; the error itself must be one line)."""
    return [line for line in r.err.splitlines() if name in line and "error" in line.lower()]


def assert_refused(r: Run, name: str, position=None) -> str:
    """Exit 2, one stderr line naming ``name`` (with a position when asked), no traceback."""
    no_traceback(r)
    assert r.code == 2, r
    lines = error_lines(r, name)
    assert len(lines) == 1, f"expected ONE stderr line naming {name}: {r!r}"
    line = lines[0]
    assert f"hardened {name}" not in r.err, r
    if position == "any":
        assert re.search(re.escape(name) + r":\d+:\d+\b", line), f"no :line:column in {line!r}"
    elif isinstance(position, tuple):
        want = re.escape(name) + ":" + ":".join(str(p) for p in position) + r"\b"
        assert re.search(want, line), f"expected {name}:{':'.join(map(str, position))} in {line!r}"
    return line


def assert_good_processed(r: Run, mode: str, good_path: str, before: bytes) -> None:
    if mode == "--diff":
        assert "+++ b/" + os.path.basename(good_path) in r.out, r
    elif mode == "--check":
        assert "would harden " + os.path.basename(good_path) in r.out, r
    else:
        with open(good_path, "rb") as fh:
            after = fh.read()
        assert after != before, f"the valid file was not written: {r!r}"
        assert b"networks:" in after


def refuse_case(tmp_path, name: str, data: bytes, mode: str, position=None, extra_args=(), args_for_bad=None) -> Run:
    bad = tmp_path / name
    bad.write_bytes(data)
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    args = [mode, *extra_args, *(args_for_bad or [name]), "good.yaml"]
    r = run_cli(args, tmp_path)
    assert r.elapsed < HANG_GUARD, r
    assert_refused(r, name, position)
    assert bad.read_bytes() == data, "the refused file changed on disk"
    assert_good_processed(r, mode, str(good), GOOD.encode())
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    return r


# --- inputs -------------------------------------------------------------------------------------

SERVICE_TAIL = "services:\n  web:\n    image: nginx\n"


def alias_bomb(levels: int = 9, width: int = 9) -> bytes:
    lines = ["x-a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"x-a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    lines.append(SERVICE_TAIL + f"    command: *a{levels}")
    return ("\n".join(lines) + "\n").encode()


def merge_bomb(levels: int = 10, width: int = 9) -> bytes:
    lines = ["x-m0: &m0 {k0: v}"]
    for i in range(1, levels + 1):
        lines.append(f"x-m{i}: &m{i}\n  <<: [" + ", ".join([f"*m{i - 1}"] * width) + f"]\n  k{i}: v")
    lines.append(f"services:\n  web:\n    <<: *m{levels}\n    image: nginx")
    return ("\n".join(lines) + "\n").encode()


def merge_bomb_nested_in_services(levels: int = 10, width: int = 9) -> bytes:
    """The bomb is merged into the labels of several services."""
    lines = ["x-m0: &m0 {a: b}"]
    for i in range(1, levels + 1):
        lines.append(f"x-m{i}: &m{i}\n  <<: [" + ", ".join([f"*m{i - 1}"] * width) + "]")
    lines.append("services:")
    for s in range(5):
        lines.append(f"  s{s}:\n    image: nginx\n    labels:\n      <<: *m{levels}")
    return ("\n".join(lines) + "\n").encode()


def deep_flow(n: int = 100_000, open_: str = "[", close: str = "]") -> bytes:
    return (SERVICE_TAIL + "    command: " + open_ * n + close * n + "\n").encode()


def deep_flow_mapping(n: int = 100_000) -> bytes:
    return (SERVICE_TAIL + "    labels: " + "{a: " * n + "b" + "}" * n + "\n").encode()


def deep_block_mapping(levels: int, step: int = 1) -> bytes:
    s = SERVICE_TAIL + "    labels:\n"
    indent = 6
    for i in range(levels):
        s += " " * indent + f"k{i}:\n"
        indent += step
    s += " " * indent + "v: 1\n"
    return s.encode()


def deep_block_sequence(n: int = 5000) -> bytes:
    return (SERVICE_TAIL + "    command:\n      " + "- " * n + "x\n").encode()


# Files Docker Compose refuses (checked in test_compose_refuses_them_too): the tool refuses them
# as well, with Compose's reason, instead of hardening a model Compose never builds.
# (id: (text, position, words of the tool's message))
COMPOSE_INVALID = {
    "numeric-service-key": ("services:\n  1:\n    image: nginx\n", (2, 3), "non-string key 1 in services"),
    "boolean-label-key": (SERVICE_TAIL + "    labels:\n      true: x\n", (5, 7), "non-string key true in services.web.labels"),
    "date-key": (SERVICE_TAIL + "    labels:\n      2024-01-31: x\n", (5, 7), "non-string key 2024-01-31"),
    "null-key-in-networks": ("services:\n  web:\n    image: nginx\nnetworks:\n  ~:\n", (5, 3), "non-string key ~ in networks"),
    "extends-cycle": ("services:\n  a:\n    image: x\n    extends: b\n  b:\n    extends: a\n", "any", "circular extends: a -> b -> a"),
    "extends-itself": ("services:\n  a:\n    image: x\n    extends: a\n", "any", "circular extends: a -> a"),
    "extends-missing-service": (SERVICE_TAIL + "    extends: base\n", "any", "service 'base' not found"),
    "extends-missing-file": (SERVICE_TAIL + "    extends: {file: nowhere.yaml, service: web}\n", "any", "does not exist: nowhere.yaml"),
    "depends-on-undefined": (SERVICE_TAIL + "    depends_on: [db]\n", (4, 5), "depends on undefined service 'db'"),
    "link-to-undefined": (SERVICE_TAIL + "    links: [db]\n", (4, 5), "depends on undefined service 'db'"),
    "network-mode-of-undefined": (SERVICE_TAIL + "    network_mode: service:vpn\n", (4, 5), "undefined service 'vpn'"),
    "undefined-network": (SERVICE_TAIL + "    networks: [back]\n", (4, 5), "undefined network 'back'"),
    "network-mode-and-networks": (SERVICE_TAIL + "    network_mode: host\n    networks: [default]\n", (4, 5),
                                  "both network_mode and networks"),
    "dependency-cycle": ("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: y\n    links: [a]\n",
                         "any", "dependency cycle: a -> b -> a"),
    "null-services": ("services:\n", (1, 1), "'services' is empty (null)"),
    "null-networks": (SERVICE_TAIL + "networks:\n", (4, 1), "'networks' is empty (null)"),
    "null-service": ("services:\n  web:\n", (2, 3), "service 'web' is empty (null)"),
}

BAD_CASES = [
    # (id, file name, bytes, position)
    ("alias-bomb", "bomb.yaml", alias_bomb(), "any"),
    ("alias-bomb-wide", "bomb.yaml", alias_bomb(levels=12, width=9), "any"),
    ("merge-key-bomb", "mbomb.yaml", merge_bomb(), "any"),
    ("merge-key-bomb-in-services", "mbomb.yaml", merge_bomb_nested_in_services(), "any"),
    ("deep-flow-seq", "deep.yaml", deep_flow(), (4,)),
    ("deep-flow-map", "deep.yaml", deep_flow_mapping(), (4,)),
    ("deep-block-mapping-200", "deep.yaml", deep_block_mapping(200), "any"),
    ("deep-block-mapping-2000", "deep.yaml", deep_block_mapping(2000), "any"),
    ("deep-block-mapping-wide-steps", "deep.yaml", deep_block_mapping(600, step=2), "any"),
    ("deep-block-sequence", "deep.yaml", deep_block_sequence(), "any"),
    ("recursive-alias", "rec.yaml", b"x-a: &a [*a]\n" + SERVICE_TAIL.encode(), (1,)),
    ("recursive-alias-mapping", "rec.yaml", b"x-a: &a {k: *a}\n" + SERVICE_TAIL.encode(), (1,)),
    ("multi-document", "multi.yaml", (SERVICE_TAIL + "---\nservices:\n  y:\n    image: redis\n").encode(), (4,)),
    ("binary", "bin.yaml", bytes(range(256)) * 8, "any"),
    ("binary-png-header", "bin.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(64), "any"),
    ("latin-1", "latin1.yaml", (SERVICE_TAIL + "    environment:\n      A: caf\xe9\n").encode("latin-1"), (5, 13)),
    ("nul-byte", "nul.yaml", b"services:\n  web:\n    image: ng\x00inx\n", (3, 14)),
    ("empty", "empty.yaml", b"", None),
    ("only-comments", "comments.yaml", b"# nothing\n\n   # here either\n", None),
    ("only-bom", "bom.yaml", b"\xef\xbb\xbf", None),
    ("duplicate-keys", "dup.yaml", (SERVICE_TAIL + "    image: redis\n").encode(), (4, 5)),
    ("duplicate-services", "dup.yaml", (SERVICE_TAIL + "  web:\n    image: redis\n").encode(), (4,)),
    ("tab-indentation", "tab.yaml", b"services:\n\tweb:\n\t\timage: nginx\n", (2,)),
    ("legacy-version-1", "v1.yaml", b"web:\n  image: nginx\n  links:\n    - db\ndb:\n  image: postgres\n", (1,)),
    ("top-level-list", "list.yaml", b"- services\n- web\n", "any"),
    ("top-level-scalar", "scalar.yaml", b"just a string\n", "any"),
    ("mapping-without-services", "nosvc.yaml", b"foo:\n  bar: 1\nbaz: [1, 2]\n", "any"),
    ("services-is-a-list", "svclist.yaml", b"services:\n  - web\n  - db\n", "any"),
    ("unclosed-quote", "quote.yaml", b'services:\n  web:\n    image: "nginx\n', "any"),
    ("bad-indentation", "indent.yaml", b"services:\n  web:\n    image: nginx\n   ports: [80]\n", "any"),
    ("tab-indented-comment-line", "tabc.yaml", b"services:\n  web:\n    image: nginx\n\t# note\n    ports: [80]\n", (4, 1)),
    ("utf-16-with-bom", "u16.yaml", SERVICE_TAIL.encode("utf-16"), (1, 1)),
    ("utf-16-without-bom", "u16.yaml", SERVICE_TAIL.encode("utf-16-be"), (1, 1)),
    ("utf-32", "u32.yaml", SERVICE_TAIL.encode("utf-32"), (1, 1)),
] + [(f"compose-invalid-{case}", "inv.yaml", text.encode(), pos) for case, (text, pos, _) in COMPOSE_INVALID.items()]


@pytest.mark.parametrize("name,data,position", [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_input_refused(tmp_path, name, data, position):
    refuse_case(tmp_path, name, data, "--diff", position)


@pytest.mark.parametrize("mode", ["--write", "--check"])
def test_all_bad_inputs_in_one_run(tmp_path, mode):
    """Every bad file of the table in ONE run, a valid file between them: each bad file gets its
    own single error line and stays byte-identical; the valid file is processed."""
    args = [mode]
    files = {}
    for i, (case_id, name, data, position) in enumerate(BAD_CASES):
        fname = f"{i:02d}-{name}"
        (tmp_path / fname).write_bytes(data)
        files[fname] = (data, position)
        args.append(fname)
        if i == len(BAD_CASES) // 2:
            args.append("good.yaml")
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    r = run_cli(args, tmp_path)
    assert r.elapsed < 3 * HANG_GUARD, r
    no_traceback(r)
    assert r.code == 2, r
    for fname, (data, position) in files.items():
        assert_refused(r, fname, position)
        assert (tmp_path / fname).read_bytes() == data, f"{fname} changed on disk"
    assert_good_processed(r, mode, str(good), GOOD.encode())
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_bad_input_check_mode(tmp_path):
    """--check reports the refused file and still judges the other one."""
    r = refuse_case(tmp_path, "bomb.yaml", alias_bomb(), "--check", "any")
    assert "error: bomb.yaml" in r.out


def test_bad_input_json_mode(tmp_path):
    import json

    (tmp_path / "dup.yaml").write_text(SERVICE_TAIL + "    image: redis\n")
    (tmp_path / "good.yaml").write_text(GOOD)
    r = run_cli(["--diff", "--format", "json", "dup.yaml", "good.yaml"], tmp_path)
    no_traceback(r)
    assert r.code == 2, r
    report = json.loads(r.out)
    by_path = {f["path"]: f for f in report["files"]}
    assert by_path["dup.yaml"]["status"] == "error"
    assert by_path["dup.yaml"]["error"]["line"] == 4
    assert by_path["good.yaml"]["status"] == "changes pending"


def test_bombs_and_deep_nesting_through_stdin(tmp_path):
    for data in (alias_bomb(), merge_bomb(), deep_flow(), deep_block_mapping(2000)):
        r = run_cli(["--write", "-"], tmp_path, stdin=data)
        assert r.elapsed < HANG_GUARD, r
        no_traceback(r)
        assert r.code == 2, r
        assert r.out == "", "a refused stdin document must not produce output"
        assert len([line for line in r.err.splitlines() if line.startswith("error:")]) == 1, r


# --- tags that must stay inert ------------------------------------------------------------------


def test_python_tags_load_inertly(tmp_path):
    marker = tmp_path / "pwned"
    text = (
        "services:\n"
        "  web:\n"
        "    image: nginx\n"
        f'    command: !!python/object/apply:os.system ["touch {marker}"]\n'
        f"    entrypoint: !!python/object/new:os.system [\"touch {marker}\"]\n"
        "    labels:\n"
        "      fn: !!python/name:os.system\n"
        "      obj: !!python/object:os.PathLike {}\n"
        "    depends_on: [db]\n"
        "  db:\n"
        "    image: postgres:16\n"
    )
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    for mode in ("--diff", "--check"):
        r = run_cli([mode, "compose.yaml"], tmp_path)
        no_traceback(r)
        assert r.code in (0, 1), r
    r = run_cli(["--diff", "--format", "json", "compose.yaml"], tmp_path)
    no_traceback(r)
    assert r.code in (0, 1), r
    r = run_cli(["--write", "compose.yaml"], tmp_path)
    no_traceback(r)
    assert r.code in (0, 1), r
    assert not marker.exists(), "a python tag was executed"
    out = path.read_text()
    assert out != text, "the file was not hardened"
    for line in text.splitlines():
        assert line in out.splitlines(), f"line lost: {line!r}"
    assert f'!!python/object/apply:os.system ["touch {marker}"]' in out
    r = run_cli(["--diff", "compose.yaml"], tmp_path)
    assert r.out == "", "not idempotent"
    assert not marker.exists()


@pytest.mark.parametrize("case", sorted(COMPOSE_INVALID))
def test_compose_refuses_them_too(tmp_path, case):
    """The tool refuses what Compose refuses, and says why in Compose's terms."""
    text, _, words = COMPOSE_INVALID[case]
    path = tmp_path / "inv.yaml"
    path.write_text(text)
    ok, _, err = compose_config([str(path)], str(tmp_path))
    assert not ok, f"docker-compose accepts {case}: the tool must not refuse it"
    r = run_cli(["--write", "inv.yaml"], tmp_path)
    line = assert_refused(r, "inv.yaml")
    assert words in line, line
    assert "internal error" not in line
    assert path.read_text() == text


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_is_named(tmp_path, encoding):
    (tmp_path / "c.yaml").write_bytes(GOOD.encode(encoding))
    line = assert_refused(run_cli(["--check", "c.yaml"], tmp_path), "c.yaml")
    want = "UTF-32" if "32" in encoding else "UTF-16"
    assert f"{want} is not supported; save as UTF-8" in line
    assert "binary" not in line


@pytest.mark.parametrize("prefix", ["\t", "\t\t", "  \t", "\t  "])
@pytest.mark.parametrize("where", ["between keys", "after the last line", "before the document"])
def test_tab_indented_comment_line_refused_as_compose_does(tmp_path, prefix, where):
    """A comment LINE indented with a tab: Compose (go-yaml) refuses it, so does the tool, with a
    message that says exactly that (a tab between a value and its comment is fine: next test)."""
    lines = GOOD.splitlines()
    at = {"between keys": 3, "after the last line": len(lines), "before the document": 0}[where]
    lines.insert(at, prefix + "# a comment")
    text = "\n".join(lines) + "\n"
    path = tmp_path / "c.yaml"
    path.write_text(text)
    ok, _, _ = compose_config([str(path)], str(tmp_path))
    assert not ok, "docker-compose accepts it: the tool must harden it"
    line = assert_refused(run_cli(["--write", "c.yaml"], tmp_path), "c.yaml", (at + 1, prefix.index("\t") + 1))
    assert "a comment line indented with a tab: YAML indents with spaces only (Compose refuses it too)" in line


def test_tab_in_comment_indentation_deeper_than_the_block_is_valid(tmp_path):
    """Where Compose accepts a tab before a comment line (inside a flow collection, or indented
    deeper than the block it is in) the tool hardens the file."""
    text = ("services:\n  web:\n    image: nginx\n        \t# deeper than the block\n    command: [\n\t# in a flow list\n"
            "      run ]\n    depends_on: [db]\n  db:\n    image: postgres:16\n")
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    ok, _, err = compose_config([str(path)], str(tmp_path))
    assert ok, err
    r = run_cli(["--write", "compose.yaml"], tmp_path)
    assert r.code in (0, 1), r
    assert "\t# in a flow list" in path.read_text() and "networks:" in path.read_text()
    ok, _, err = compose_config([str(path)], str(tmp_path))
    assert ok, err


def test_tab_before_comment_is_valid(tmp_path):
    text = "services:\n  web:\n    image: nginx\t# comment after a tab\n    depends_on: [db]\t# and here\n  db:\n    image: postgres:16\t\t# two tabs\n"
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    ok, _, err = compose_config([str(path)], str(tmp_path))
    assert ok, f"docker-compose should accept a tab before a comment: {err}"
    r = run_cli(["--diff", "compose.yaml"], tmp_path)
    no_traceback(r)
    assert r.code == 1, r
    assert "+++ b/compose.yaml" in r.out
    r = run_cli(["--write", "compose.yaml"], tmp_path)
    assert r.code in (0, 1), r
    out = path.read_text()
    assert "image: nginx\t# comment after a tab" in out
    assert "networks:" in out
    ok, _, err = compose_config([str(path)], str(tmp_path))
    assert ok, err


# --- files that are not there, not files, too big ------------------------------------------------


def test_directory_given_with_f(tmp_path):
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir" / "compose.yaml").write_text(GOOD)
    good = tmp_path / "good.yaml"
    for mode in ("--diff", "--write"):
        good.write_text(GOOD)
        r = run_cli([mode, "-f", "adir", "good.yaml"], tmp_path)
        assert_refused(r, "adir")
        assert_good_processed(r, mode, str(good), GOOD.encode())
        assert (tmp_path / "adir" / "compose.yaml").read_text() == GOOD


def test_missing_file(tmp_path):
    good = tmp_path / "good.yaml"
    for mode in ("--diff", "--write"):
        good.write_text(GOOD)
        for args in (["missing.yaml"], ["-f", "missing.yaml"]):
            good.write_text(GOOD)
            r = run_cli([mode, *args, "good.yaml"], tmp_path)
            assert_refused(r, "missing.yaml")
            assert_good_processed(r, mode, str(good), GOOD.encode())
            assert not (tmp_path / "missing.yaml").exists(), "a missing file was created"


def test_dangling_symlink(tmp_path):
    os.symlink("nowhere.yaml", tmp_path / "link.yaml")
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    r = run_cli(["--write", "link.yaml", "good.yaml"], tmp_path)
    assert_refused(r, "link.yaml")
    assert_good_processed(r, "--write", str(good), GOOD.encode())
    assert not (tmp_path / "nowhere.yaml").exists()


@pytest.mark.parametrize("mode", ["--diff", "--write"])
def test_over_max_size(tmp_path, mode):
    big = (GOOD + "# padding " + "x" * 2000 + "\n").encode()
    refuse_case(tmp_path, "big.yaml", big, mode, None, extra_args=["--max-size", "1000"])


def test_over_max_size_stdin(tmp_path):
    big = (GOOD + "# padding " + "x" * 2000 + "\n").encode()
    r = run_cli(["--write", "--max-size", "1000", "-"], tmp_path, stdin=big)
    no_traceback(r)
    assert r.code == 2, r
    assert r.out == ""
    assert len([line for line in r.err.splitlines() if line.startswith("error:")]) == 1, r


def test_default_max_size_is_10_mib(tmp_path):
    limit = 10 * 1024 * 1024
    data = (GOOD + "#" * (limit + 1 - len(GOOD) - 1) + "\n").encode()
    assert len(data) == limit + 1
    refuse_case(tmp_path, "huge.yaml", data, "--diff", None)


# --- permissions ---------------------------------------------------------------------------------

DROP_SCRIPT = """\
import os, sys
# Load everything the command may import lazily: after the drop, nobody cannot read /root.
import textwrap, difflib, json, tempfile, click, click._textwrap, click.formatting
import hardener.cli, hardener.report
try:
    import deepdiff
except ImportError:
    pass
os.setgroups([])
os.setgid({uid})
os.setuid({uid})
if os.geteuid() != {uid} or os.getegid() != {uid}:
    sys.exit(99)
sys.argv = ["compose-harden"] + sys.argv[1:]
hardener.cli.main()
""".format(uid=NOBODY)

_drop_probe: list = []


def _can_drop() -> str | None:
    """None when commands can run as nobody, else why not."""
    if _drop_probe:
        return _drop_probe[0]
    reason = None
    try:
        p = subprocess.run([sys.executable, "-c", DROP_SCRIPT, "--version"], capture_output=True, timeout=60)
        if p.returncode != 0:
            reason = f"cannot drop privileges to uid {NOBODY}: exit {p.returncode}: {p.stderr.decode(errors='replace')[-300:]}"
    except OSError as exc:
        reason = f"cannot drop privileges to uid {NOBODY}: {exc}"
    _drop_probe.append(reason)
    return reason


@pytest.fixture
def unprivileged(tmp_path):
    """(scratch directory, run function, own function): run the command as a user that the
    permission bits apply to. As root: uid/gid 65534 in a directory it owns."""
    if os.geteuid() != 0:
        base = tmp_path / "perm"
        base.mkdir()

        def run(args, cwd, **kw):
            return run_cli(args, cwd, **kw)

        def own(path):
            pass

        yield str(base), run, own
        for dirpath, dirnames, filenames in os.walk(base):
            for d in dirnames:
                os.chmod(os.path.join(dirpath, d), 0o755)
        return
    reason = _can_drop()
    if reason:
        pytest.skip(reason)
    base = tempfile.mkdtemp(prefix="compose-harden-perm-", dir="/tmp")
    os.chmod(base, 0o755)
    os.chown(base, NOBODY, NOBODY)

    def run(args, cwd, **kw):
        return run_cli(args, cwd, prefix=[sys.executable, "-c", DROP_SCRIPT], **kw)

    def own(path):
        os.chown(path, NOBODY, NOBODY)

    try:
        yield base, run, own
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _perm_setup(base, own, layout):
    """layout: {relative path: (bytes or None for a directory, mode)}, created in order."""
    for rel, (data, mode) in layout.items():
        path = os.path.join(base, rel)
        if data is None:
            os.makedirs(path, exist_ok=True)
        else:
            with open(path, "wb") as fh:
                fh.write(data)
        own(path)
    for rel, (data, mode) in reversed(list(layout.items())):
        os.chmod(os.path.join(base, rel), mode)


@pytest.mark.parametrize("how", ["positional", "-f"])
def test_file_without_read_permission(unprivileged, how):
    base, run, own = unprivileged
    good = GOOD.encode()
    _perm_setup(base, own, {"noread.yaml": (good, 0o000), "good.yaml": (good, 0o644)})
    args = ["noread.yaml"] if how == "positional" else ["-f", "noread.yaml"]
    r = run(["--diff", *args, "good.yaml"], base)
    assert_refused(r, "noread.yaml")
    assert_good_processed(r, "--diff", os.path.join(base, "good.yaml"), good)
    os.chmod(os.path.join(base, "noread.yaml"), 0o600)
    with open(os.path.join(base, "noread.yaml"), "rb") as fh:
        assert fh.read() == good


def test_file_without_write_permission(unprivileged):
    base, run, own = unprivileged
    good = GOOD.encode()
    _perm_setup(base, own, {"nowrite.yaml": (good, 0o444), "good.yaml": (good, 0o644)})
    r = run(["--write", "nowrite.yaml", "good.yaml"], base)
    path = os.path.join(base, "nowrite.yaml")
    with open(path, "rb") as fh:
        assert fh.read() == good, f"a read-only file was overwritten: {r!r}"
    assert_refused(r, "nowrite.yaml")
    assert_good_processed(r, "--write", os.path.join(base, "good.yaml"), good)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o444)
    assert not [p for p in os.listdir(base) if p.endswith(".tmp")]


def test_file_without_write_permission_diff_is_fine(unprivileged):
    base, run, own = unprivileged
    good = GOOD.encode()
    _perm_setup(base, own, {"nowrite.yaml": (good, 0o444)})
    r = run(["--diff", "nowrite.yaml"], base)
    no_traceback(r)
    assert r.code == 1, r
    assert "+++ b/nowrite.yaml" in r.out


def test_read_only_directory_with_write(unprivileged):
    base, run, own = unprivileged
    good = GOOD.encode()
    _perm_setup(base, own, {
        "ro": (None, 0o555),
        "ro/compose.yaml": (good, 0o644),
        "rw": (None, 0o755),
        "rw/good.yaml": (good, 0o644),
    })
    r = run(["--write", "ro/compose.yaml", "rw/good.yaml"], base)
    assert_refused(r, "ro/compose.yaml")
    assert_good_processed(r, "--write", os.path.join(base, "rw", "good.yaml"), good)
    with open(os.path.join(base, "ro", "compose.yaml"), "rb") as fh:
        assert fh.read() == good
    assert os.listdir(os.path.join(base, "ro")) == ["compose.yaml"], "a temporary file was left behind"
    assert not [p for p in os.listdir(os.path.join(base, "rw")) if p.endswith(".tmp")]


def test_privileges_really_dropped(unprivileged):
    """Guard for the fixture itself: the command cannot read a file its user may not read."""
    base, run, own = unprivileged
    _perm_setup(base, own, {"secret.yaml": (GOOD.encode(), 0o000)})
    r = run(["--diff", "-f", "secret.yaml"], base)
    assert r.code == 2, r
    assert "+++" not in r.out


# --- evasions of the nesting pre-scan -----------------------------------------------------------


@pytest.mark.parametrize("quote,n", [('"', 100_000), ("'", 100_000)])
def test_deep_flow_nesting_with_quoted_brackets(tmp_path, quote, n):
    item = f"[{quote}]{quote}, "
    data = (SERVICE_TAIL + "    command: " + item * n + "1" + "]" * n + "\n").encode()
    refuse_case(tmp_path, "deep.yaml", data, "--diff", "any")


def test_deep_flow_nesting_with_brackets_in_comments(tmp_path):
    n = 100_000
    data = (SERVICE_TAIL + "    command:\n" + "      [ # ]\n" * n + "      1" + "]" * n + "\n").encode()
    refuse_case(tmp_path, "deep.yaml", data, "--diff", "any")


def test_deep_flow_nesting_many_small_lists_is_fine(tmp_path):
    """Lots of brackets, shallow nesting: not a reason to refuse."""
    text = "services:\n  web:\n    image: nginx\n    depends_on: [db]\n  db:\n    image: postgres:16\n"
    text += "x-many: [" + ", ".join("[a, {b: [c]}]" for _ in range(400)) + "]\n"
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    r = run_cli(["--diff", "compose.yaml"], tmp_path)
    no_traceback(r)
    assert r.code == 1, r


# --- valid compose files the tool must not refuse with an internal error or crash on -------------

VALID_UNUSUAL = {
    "brackets-in-comment": "# " + "[" * 70 + "\nservices:\n  web:\n    image: nginx\n    depends_on: [db]\n"
                           "  db:\n    image: postgres:16\n",
    "braces-in-quoted-string": "services:\n  web:\n    image: nginx\n    depends_on: [db]\n    labels:\n"
                               "      tpl: '" + "{" * 70 + "'\n  db:\n    image: postgres:16\n",
    "colon-in-flow-sequence": "services:\n  web:\n    image: nginx\n    ports: [8080:80]\n    depends_on: [db]\n"
                              "  db:\n    image: postgres:16\n",
    "colon-in-flow-mapping": "services:\n  web: {image: nginx, depends_on: [db]}\n  db: {image: postgres:16}\n",
    "url-in-flow-environment": "services:\n  web:\n    image: nginx\n    environment: [DB=postgres://u:p@db:5432/x]\n"
                               "  db:\n    image: postgres:16\n",
    "networks-list-shared-by-alias-flow": "x-nets: &nets [default, a]\nservices:\n  web:\n    image: nginx\n"
                                          "    ports: [\"80:80\"]\n    networks: *nets\n  db:\n    image: postgres:16\n"
                                          "    networks: *nets\nnetworks:\n  a:\n",
    "networks-list-shared-by-alias-block": "x-nets: &nets\n  - default\n  - a\nservices:\n  web:\n    image: nginx\n"
                                           "    ports: [\"80:80\"]\n    networks: *nets\n  db:\n    image: postgres:16\n"
                                           "    networks: *nets\nnetworks:\n  a:\n",
    "networks-single-item-alias": "x-nets: &nets [a]\nservices:\n  web:\n    image: nginx\n    networks: *nets\n"
                                  "  db:\n    image: postgres:16\n    networks: *nets\nnetworks:\n  a:\n",
    "networks-mapping-alias": "x-nets: &nets\n  a:\n    aliases: [x]\nservices:\n  web:\n    image: nginx\n"
                              "    networks: *nets\n  db:\n    image: postgres:16\n    networks: *nets\nnetworks:\n  a:\n",
    "service-is-an-alias": "services:\n  db: &db\n    image: postgres:16\n  db2: *db\n  web:\n    image: nginx\n"
                           "    depends_on: [db, db2]\n",
    "internal-flag-is-an-alias": "x-i: &i false\nservices:\n  db:\n    image: postgres:16\n    networks: [d]\n"
                                 "networks:\n  d:\n    internal: *i\n",
    "network-definitions-share-an-alias": "x-d: &d {driver: bridge}\nservices:\n  web:\n    image: nginx\n"
                                          "    networks: [a, b]\n  db:\n    image: postgres:16\n    networks: [b]\n"
                                          "networks:\n  a: *d\n  b: *d\n",
    "top-level-networks-is-an-alias": "x-n: &n\n  a:\n  b:\nservices:\n  web:\n    image: nginx\n    networks: [a, b]\n"
                                      "  db:\n    image: postgres:16\n    networks: [b]\nnetworks: *n\n",
    "host-mode-in-anchor-with-ports": "x-h: &h\n  network_mode: host\nservices:\n  web:\n    <<: *h\n    image: nginx\n"
                                      "    ports: ['80:80']\n  db:\n    image: postgres:16\n",
    "cr-only-line-endings": "services:\r  web:\r    image: nginx\r    depends_on: [db]\r  db:\r    image: postgres:16\r",
    "document-markers": "---\nservices:\n  web:\n    image: nginx\n    depends_on: [db]\n  db:\n"
                        "    image: postgres:16\n...\n",
    "quoted-keys": "\"services\":\n  'web':\n    \"image\": nginx\n    depends_on: [db]\n  \"db\":\n    image: postgres:16\n",
    "empty-services": "services: {}\n",
    "reset-tag-on-networks": "services:\n  web:\n    image: nginx\n    networks: !reset []\n    depends_on: [db]\n"
                             "  db:\n    image: postgres:16\n",
    "network-mode-on-two-lines": "services:\n  web:\n    image: nginx\n    network_mode:\n      host\n  db:\n"
                                 "    image: postgres:16\n",
    "no-final-newline-after-network-mode": "services:\n  db:\n    image: postgres:16\n  web:\n    image: nginx\n"
                                           "    network_mode: host",
    "json-document-one-line": '{"services": {"web": {"image": "nginx", "ports": ["80:80"], "depends_on": ["db"]}, '
                              '"db": {"image": "postgres:16"}}}\n',
    "json-document-multi-line": '{\n  "services": {\n    "web": {\n      "image": "nginx",\n      "ports": ["80:80"],\n'
                                '      "depends_on": ["db"]\n    },\n    "db": {\n      "image": "postgres:16"\n    }\n  },\n'
                                '  "networks": {\n  }\n}\n',
    "json-document-declared-networks": '{\n  "services": {\n    "web": {"image": "nginx", "ports": ["80:80"], "networks": ["front", "back"]},\n'
                                       '    "db": {"image": "postgres:16", "networks": ["back"]}\n  },\n  "networks": {\n'
                                       '    "front": {},\n    "back": {\n      "driver": "bridge"\n    }\n  }\n}\n',
    "json-document-host-mode": '{"services": {\n  "web": {"image": "nginx", "network_mode": "host", "expose": ["8080"]},\n'
                               '  "db": {"image": "postgres:16"}\n}}\n',
    "flow-document-with-comment": "{services: {web: {image: nginx, ports: ['80:80'], depends_on: [db]},\n"
                                  "  db: {image: postgres:16}},  # a comment\n  x-note: hello}\n",
    "services-is-an-alias": "x-svcs: &svcs\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n"
                            "  db:\n    image: postgres:16\nservices: *svcs\n",
    "services-anchor-aliased-elsewhere": "services: &svcs\n  web:\n    image: nginx\n    ports: ['80:80']\n"
                                         "    depends_on: [db]\n  db:\n    image: postgres:16\nx-copy: *svcs\n",
    "services-merged-from-an-anchor": "x-svcs: &svcs\n  web:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n"
                                      "  db:\n    image: postgres:16\nservices:\n  <<: *svcs\n  cache:\n    image: redis:7\n",
    "extends-chain-of-12-written-backwards": "services:\n" + "".join(f"  s{i}:\n    extends: s{i - 1}\n" for i in range(12, 0, -1))
                                             + "  s0:\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n"
                                             "  db:\n    image: postgres:16\n",
    "u2028-in-a-quoted-scalar": 'services:\n  web:\n    image: nginx\n    labels:\n      a: "x\u2028y"\n    depends_on: [db]\n'
                                "  db:\n    image: postgres:16\n",
    # YAML 1.2 lets an anchor be defined again: an alias names the latest (Compose reads c as redis)
    "anchor-defined-twice": "services:\n  web: &x\n    image: nginx\n    ports: ['80:80']\n    depends_on: [db]\n"
                            "  db: &x\n    image: postgres:16\n  db2: *x\n",
    "lone-cr-in-a-quoted-scalar": "services:\n  web: {image: nginx, labels: {a: \"x\ry\"}, depends_on: [db]}\n"
                                  "  db:\n    image: postgres:16\n",
    # references Compose accepts: interpolated (appwrite), optional and in a profile (dify)
    "depends-on-interpolated-with-default": "services:\n  web:\n    image: nginx\n    ports: ['80:80']\n"
                                            "    depends_on:\n      - ${DB_HOST:-db}\n  db:\n    image: postgres:16\n",
    "links-interpolated-with-default": "services:\n  web:\n    image: nginx\n    links: ['${DB_HOST:-db}:database']\n"
                                       "  db:\n    image: postgres:16\n",
    "depends-on-optional-in-a-profile": "services:\n  web:\n    image: nginx\n    depends_on:\n      db:\n"
                                        "        condition: service_healthy\n        required: false\n"
                                        "      mysql:\n        condition: service_healthy\n        required: false\n"
                                        "  db:\n    image: postgres:16\n    profiles: [postgresql]\n"
                                        "  mysql:\n    image: mysql:8\n    profiles: [mysql]\n",
}

# Plain YAML the tool must read: refusing them as invalid or too deeply nested is wrong. For the
# others, a clear refusal that names the limitation is acceptable; an internal error is not.
MUST_HARDEN = {
    "brackets-in-comment", "braces-in-quoted-string", "colon-in-flow-sequence", "colon-in-flow-mapping",
    "url-in-flow-environment", "document-markers", "quoted-keys", "empty-services",
    "network-mode-on-two-lines", "no-final-newline-after-network-mode",
    # issue 9.3 / 9.4: valid files that were refused as an internal error
    "json-document-one-line", "json-document-multi-line", "json-document-declared-networks", "json-document-host-mode",
    "flow-document-with-comment", "services-is-an-alias", "services-anchor-aliased-elsewhere",
    "services-merged-from-an-anchor", "extends-chain-of-12-written-backwards", "u2028-in-a-quoted-scalar",
    "lone-cr-in-a-quoted-scalar", "depends-on-interpolated-with-default", "links-interpolated-with-default",
    "depends-on-optional-in-a-profile", "anchor-defined-twice",
}

# Valid files the tool refuses today with a self-declared internal error or a crash: each is a bug.
@pytest.mark.parametrize("name,text", list(VALID_UNUSUAL.items()), ids=list(VALID_UNUSUAL))
def test_valid_unusual_input_is_not_refused_by_a_bug(tmp_path, name, text):
    """Compose accepts these. The tool hardens them (exit 0/1, output still valid), or refuses
    with a clear reason that is not an internal error; it never crashes, and the other file
    of the run is still processed."""
    path = tmp_path / "compose.yaml"
    data = text.encode()
    path.write_bytes(data)
    ok, _, err = compose_config([str(path)], str(tmp_path))
    assert ok, f"test input must be valid for docker-compose: {err}"
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    r = run_cli(["--write", "compose.yaml", "good.yaml"], tmp_path)
    no_traceback(r)
    assert r.code in (0, 1, 2), r
    assert_good_processed(r, "--write", str(good), GOOD.encode())
    if r.code == 2:
        assert "internal error" not in r.err, r
        assert path.read_bytes() == data
        assert len(error_lines(r, "compose.yaml")) == 1, r
        if name in MUST_HARDEN:
            pytest.fail(f"a valid compose file was refused as unreadable: {r.err.strip()}")
        return  # a clear refusal ("cannot apply the fix: ...") is an acceptable outcome
    ok, _, err = compose_config([str(path)], str(tmp_path))
    assert ok, f"the hardened file is not valid for docker-compose: {err}\n{path.read_text()}"
    r2 = run_cli(["--diff", "compose.yaml"], tmp_path)
    no_traceback(r2)
    assert r2.out == "", f"second run proposes more changes: {r2!r}"
    if name.startswith("json-"):
        import json

        json.loads(path.read_text())  # a JSON file stays JSON


def test_file_of_another_owner_written_in_place(unprivileged):
    """A group-writable file owned by someone else: a new file could not be given its owner, so
    it is written in place (owner, group and mode kept) and the run says why."""
    base, run, own = unprivileged
    if os.geteuid() != 0:
        pytest.skip("creating a file owned by another user needs root")
    path = os.path.join(base, "shared.yaml")
    with open(path, "w") as fh:
        fh.write(GOOD)
    os.chown(path, 0, NOBODY)
    os.chmod(path, 0o664)
    r = run(["--write", "shared.yaml"], base)
    no_traceback(r)
    assert r.code in (0, 1), r
    assert f"hardened shared.yaml (written in place: its owner (0:{NOBODY}) cannot be given to a new file" in r.err
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, NOBODY, 0o664)
    with open(path) as fh:
        assert "networks:" in fh.read()
    assert not [p for p in os.listdir(base) if ".compose-harden" in p]
