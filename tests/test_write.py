"""--write: atomic replacement, permissions, symlinks, races, SIGKILL, and standard input.

Contract: the file is replaced atomically (temporary file in the same directory, fsync, rename),
keeps its permission bits (setuid, setgid and sticky included), owner, extended attributes and
POSIX ACLs (a file with several hard links, whose other names a rename would leave behind, is
written in place), is written through a symlink to its target (the link stays a link),
is NOT overwritten when it changed on disk between reading and writing (exit 2), and no
temporary file is left behind by a run that is not killed. ``-`` reads standard input;
``--write -`` prints the hardened document on stdout.
"""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import tempfile
import sys
import time

import pytest
from click.testing import CliRunner

import hardener.cli
import hardener.writer
from hardener.cli import cli

GOOD = """\
# A classic three-tier stack.
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
      DATABASE_URL: postgres://shop:secret@db:5432/shop  # connection string
      CACHE_HOST: cache
  db:
    image: postgres:16
  cache:
    image: redis:7-alpine
"""


def invoke(args, input=None):
    """Run the command in-process; an exception other than SystemExit is a crash."""
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        raise AssertionError("crash:\n" + "".join(traceback.format_exception(*result.exc_info)))
    return result


def hardened_of(tmp_path, text: str, name: str = "ref.yaml") -> bytes:
    """The bytes --write produces for ``text`` (computed in a scratch folder)."""
    d = tmp_path / ("ref-" + name)
    d.mkdir()
    p = d / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    r = invoke(["--write", "-q", str(p)])
    assert r.exit_code in (0, 1), r.output
    return p.read_bytes()


def temp_files(directory) -> list[str]:
    return [n for n in os.listdir(directory) if n.endswith(".tmp") or ".compose-harden" in n]


# --- permissions, symlinks, temporary files ------------------------------------------------------


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o644, 0o755, 0o604])
def test_permission_bits_kept(tmp_path, monkeypatch, mode):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    os.chmod(p, mode)
    ino = os.stat(p).st_ino
    r = invoke(["--write", "compose.yaml"])
    assert r.exit_code in (0, 1), r.output
    assert p.read_text() != GOOD
    st = os.stat(p)
    assert stat.S_IMODE(st.st_mode) == mode, oct(stat.S_IMODE(st.st_mode))
    assert st.st_ino != ino, "not replaced by rename (written in place?)"
    assert temp_files(tmp_path) == []


def test_owner_kept_when_root(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    os.chown(p, 65534, 65534)
    r = invoke(["--write", "compose.yaml"])
    assert r.exit_code in (0, 1), r.output
    st = os.stat(p)
    assert (st.st_uid, st.st_gid) == (65534, 65534)


def test_symlink_kept_and_target_updated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "stack.yaml"
    target.write_text(GOOD)
    os.chmod(target, 0o640)
    expected = hardened_of(tmp_path, GOOD)
    (tmp_path / "proj").mkdir()
    link = tmp_path / "proj" / "compose.yaml"
    os.symlink(os.path.join("..", "real", "stack.yaml"), link)  # relative link
    r = invoke(["--write", "proj/compose.yaml"])
    assert r.exit_code in (0, 1), r.output
    assert os.path.islink(link), "the symlink was replaced by a regular file"
    assert os.readlink(link) == os.path.join("..", "real", "stack.yaml")
    assert target.read_bytes() == expected
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert temp_files(real_dir) == [] and temp_files(tmp_path / "proj") == []


def test_symlink_chain(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "target.yaml"
    target.write_text(GOOD)
    os.symlink("target.yaml", tmp_path / "l1.yaml")
    os.symlink(str(tmp_path / "l1.yaml"), tmp_path / "l2.yaml")  # absolute link to a link
    r = invoke(["--write", "l2.yaml"])
    assert r.exit_code in (0, 1), r.output
    assert os.path.islink(tmp_path / "l1.yaml") and os.path.islink(tmp_path / "l2.yaml")
    assert target.read_bytes() == hardened_of(tmp_path, GOOD)
    assert temp_files(tmp_path) == []


def test_no_temp_file_after_success(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for i in range(5):
        (tmp_path / f"c{i}.yaml").write_text(GOOD)
    before = set(os.listdir(tmp_path))
    r = invoke(["--write", *[f"c{i}.yaml" for i in range(5)]])
    assert r.exit_code in (0, 1), r.output
    assert set(os.listdir(tmp_path)) == before
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("where", ["fsync", "chmod", "replace", "write"])
def test_no_temp_file_after_failure(tmp_path, monkeypatch, where):
    """An OS error at any step of the write: exit 2, file untouched, no temporary file."""
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    other = tmp_path / "other.yaml"
    other.write_text(GOOD)

    def first_call_fails(real, err):
        calls = {"n": 0}

        def fn(*a, **k):
            calls["n"] += 1
            if calls["n"] == 1:
                raise OSError(*err)
            return real(*a, **k)

        return fn

    eio = (5, "Input/output error (injected)")
    enospc = (28, "No space left on device (injected)")

    if where == "fsync":
        monkeypatch.setattr(hardener.writer.os, "fsync", first_call_fails(os.fsync, eio))
    elif where == "chmod":
        monkeypatch.setattr(hardener.writer.os, "chmod", first_call_fails(os.chmod, eio))
    elif where == "replace":
        monkeypatch.setattr(hardener.writer.os, "replace", first_call_fails(os.replace, enospc))
    else:
        real_fdopen = os.fdopen

        class Failing:
            def __init__(self, fh):
                self.fh = fh

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.fh.close()
                return False

            def write(self, data):
                self.fh.write(data[: len(data) // 2])
                raise OSError(28, "No space left on device (injected)")

            def __getattr__(self, name):
                return getattr(self.fh, name)

        state = {"n": 0}

        def fdopen(fd, *a, **k):
            state["n"] += 1
            fh = real_fdopen(fd, *a, **k)
            return Failing(fh) if state["n"] == 1 else fh

        monkeypatch.setattr(hardener.writer.os, "fdopen", fdopen)
    r = invoke(["--write", "compose.yaml", "other.yaml"])
    monkeypatch.undo()
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "compose.yaml" in errors[0], r.stderr
    assert p.read_text() == GOOD
    assert other.read_text() != GOOD, "the other file was not written"
    assert temp_files(tmp_path) == []


# --- metadata: setuid/setgid, owner, extended attributes, ACLs, hard links ----------------------

ACL_XATTR = "system.posix_acl_access"


def _acl(entries) -> bytes:
    """A POSIX ACL as the kernel stores it in the system.posix_acl_access attribute."""
    import struct

    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", tag, perm, uid) for tag, perm, uid in entries)


UNDEFINED = 0xFFFFFFFF
# owner rw, user 1234 rw, group r, mask rw, other r
ACL = _acl([(0x01, 6, UNDEFINED), (0x02, 6, 1234), (0x04, 4, UNDEFINED), (0x10, 6, UNDEFINED), (0x20, 4, UNDEFINED)])


def _xattrs(path) -> dict:
    return {n: os.getxattr(path, n) for n in os.listxattr(path)}


def _set_xattr_or_skip(path, name, value):
    if not hasattr(os, "setxattr"):
        pytest.skip("no extended attributes on this platform")
    try:
        os.setxattr(path, name, value)
    except OSError as exc:
        pytest.skip(f"the file system does not take {name}: {exc.strerror}")


@pytest.mark.parametrize("mode", [0o4755, 0o2755, 0o6750, 0o1644, 0o6711])
def test_setuid_setgid_sticky_bits_kept(tmp_path, monkeypatch, mode):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    os.chmod(p, mode)
    if stat.S_IMODE(os.stat(p).st_mode) != mode:
        pytest.skip("this user may not set these bits")
    r = invoke(["--write", "compose.yaml"])
    assert r.exit_code in (0, 1), r.output
    assert p.read_text() != GOOD
    assert oct(stat.S_IMODE(os.stat(p).st_mode)) == oct(mode)


def test_owner_and_setuid_kept_together_when_root(tmp_path, monkeypatch):
    """chown clears setuid and setgid: the owner is set first, the mode after."""
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    os.chown(p, 65534, 65534)
    os.chmod(p, 0o6755)
    r = invoke(["--write", "compose.yaml"])
    assert r.exit_code in (0, 1), r.output
    st = os.stat(p)
    assert (st.st_uid, st.st_gid, oct(stat.S_IMODE(st.st_mode))) == (65534, 65534, oct(0o6755))


def test_extended_attributes_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    _set_xattr_or_skip(p, "user.origin", b"ops-team")
    _set_xattr_or_skip(p, "user.empty", b"")
    before = _xattrs(p)
    r = invoke(["--write", "compose.yaml"])
    assert r.exit_code in (0, 1), r.output
    assert p.read_text() != GOOD
    assert _xattrs(p) == before


def test_posix_acl_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    _set_xattr_or_skip(p, ACL_XATTR, ACL)
    mode = stat.S_IMODE(os.stat(p).st_mode)
    r = invoke(["--write", "compose.yaml"])
    assert r.exit_code in (0, 1), r.output
    assert p.read_text() != GOOD
    assert os.getxattr(p, ACL_XATTR) == ACL
    assert stat.S_IMODE(os.stat(p).st_mode) == mode


def test_acl_a_default_acl_of_the_folder_would_add_is_not_added(tmp_path, monkeypatch):
    """The temporary file inherits the folder's default ACL; the original had no ACL: neither has
    the written file."""
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    assert ACL_XATTR not in os.listxattr(p)
    _set_xattr_or_skip(tmp_path, "system.posix_acl_default", ACL)
    r = invoke(["--write", "compose.yaml"])
    assert r.exit_code in (0, 1), r.output
    assert p.read_text() != GOOD
    assert ACL_XATTR not in os.listxattr(p)


def test_hard_links_written_in_place(tmp_path, monkeypatch):
    """A rename would leave the other name with the old content: the file is written in place,
    both names see the hardened file, and the run says so."""
    monkeypatch.chdir(tmp_path)
    expected = hardened_of(tmp_path, GOOD)
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    (tmp_path / "deploy").mkdir()
    other = tmp_path / "deploy" / "stack.yaml"
    os.link(p, other)
    os.chmod(p, 0o640)
    ino = os.stat(p).st_ino
    r = invoke(["--write", "compose.yaml"])
    assert r.exit_code in (0, 1), r.output
    assert "hardened compose.yaml (written in place: it has 2 hard links)" in r.stderr
    assert p.read_bytes() == expected and other.read_bytes() == expected
    st = os.stat(p)
    assert (st.st_ino, st.st_nlink, stat.S_IMODE(st.st_mode)) == (ino, 2, 0o640)
    assert temp_files(tmp_path) == []
    assert invoke(["--diff", "compose.yaml"]).stdout == ""


def test_hard_link_changed_on_disk_not_overwritten_in_place(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    os.link(p, tmp_path / "link.yaml")
    edited = GOOD.replace("postgres:16", "postgres:17")

    def change(path):
        with open(path, "w") as fh:
            fh.write(edited)

    _wrap_harden_paths(monkeypatch, change)
    r = invoke(["--write", "compose.yaml"])
    assert r.exit_code == 2, r.output
    assert "changed on disk" in r.stderr
    assert p.read_text() == edited
    assert temp_files(tmp_path) == []


def test_in_place_write_failure_keeps_the_old_content(tmp_path, monkeypatch):
    """An error while the bytes are overwritten: the message says where the old content is."""
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    os.link(p, tmp_path / "link.yaml")

    def pwrite(fd, data, offset):
        raise OSError(28, "No space left on device (injected)")

    monkeypatch.setattr(hardener.writer.os, "pwrite", pwrite)
    r = invoke(["--write", "compose.yaml"])
    monkeypatch.undo()
    assert r.exit_code == 2, r.output
    (error,) = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert "cannot write in place" in error and "its old content is saved in " in error
    saved = error.split("its old content is saved in ", 1)[1]
    with open(saved) as fh:
        assert fh.read() == GOOD
    os.unlink(saved)


# --- the file changed on disk between reading and writing ---------------------------------------


def _wrap_harden_paths(monkeypatch, change):
    real = hardener.cli.harden_paths

    def wrapped(paths, *a, **k):
        result = real(paths, *a, **k)
        for p in paths:
            if os.path.basename(p) == "compose.yaml":
                change(p)
        return result

    monkeypatch.setattr(hardener.cli, "harden_paths", wrapped)


@pytest.mark.parametrize("how", ["append", "same-size", "truncate", "touch-only", "replace-inode"])
def test_changed_between_read_and_write_not_overwritten(tmp_path, monkeypatch, how):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    other = tmp_path / "other.yaml"
    other.write_text(GOOD)
    edited = {
        "append": GOOD + "# edited by someone else\n",
        "same-size": GOOD.replace("postgres:16", "postgres:17"),
        "truncate": GOOD[:40],
        "touch-only": GOOD,
        "replace-inode": GOOD.replace("redis:7", "redis:8"),
    }[how]

    def change(path):
        if how == "touch-only":
            os.utime(path, None)
            return
        if how == "replace-inode":
            with open(path + ".new", "w") as fh:
                fh.write(edited)
            os.replace(path + ".new", path)
            return
        with open(path, "w") as fh:
            fh.write(edited)

    _wrap_harden_paths(monkeypatch, change)
    r = invoke(["--write", "compose.yaml", "other.yaml"])
    if how == "touch-only":  # same bytes: writing is fine
        assert r.exit_code in (0, 1), r.output
        assert p.read_text() != GOOD
        return
    assert r.exit_code == 2, r.output
    assert p.read_text() == edited, "a file changed on disk was overwritten"
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "compose.yaml" in errors[0] and "changed" in errors[0], r.stderr
    assert other.read_text() != GOOD, "the other file was not written"
    assert temp_files(tmp_path) == []


def test_changed_during_write_not_overwritten(tmp_path, monkeypatch):
    """A change after the first check (while the temporary file is written) is caught too."""
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    edited = GOOD.replace("postgres:16", "postgres:17")
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*a, **k):
        out = real_mkstemp(*a, **k)
        with open(p, "w") as fh:
            fh.write(edited)
        return out

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    r = invoke(["--write", "compose.yaml"])
    monkeypatch.undo()
    assert r.exit_code == 2, r.output
    assert p.read_text() == edited
    assert temp_files(tmp_path) == []


def test_deleted_between_read_and_write_not_recreated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    _wrap_harden_paths(monkeypatch, os.unlink)
    r = invoke(["--write", "compose.yaml"])
    assert r.exit_code == 2, r.output
    assert not p.exists(), "a deleted file was written again"
    assert temp_files(tmp_path) == []


def test_write_atomic_refuses_stale_source_directly(tmp_path):
    """Unit level: write_atomic compares the bytes on disk with the bytes read."""
    from hardener.errors import WriteError
    from hardener.source import read_source

    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    src = read_source(str(p))
    p.write_text(GOOD + "#x\n")
    with pytest.raises(WriteError):
        hardener.writer.write_atomic(src, b"services: {}\n")
    assert p.read_text() == GOOD + "#x\n"
    assert temp_files(tmp_path) == []


# --- SIGKILL at random moments -------------------------------------------------------------------


def _kill_corpus(n_files: int) -> dict[str, str]:
    files = {}
    for i in range(n_files):
        files[f"c{i:02d}.yaml"] = GOOD.replace("web:", f"web{i}:").replace("shop-api:2.3", f"shop-api:{i}")
    big = ["# a large file", "services:"]
    for i in range(250):
        big += [f"  app{i}:", f"    image: ghcr.io/example/app{i}:1", "    environment:",
                f"      DB_HOST: db{i % 8}", f"    depends_on: [db{i % 8}]"]
    for i in range(8):
        big += [f"  db{i}:", "    image: postgres:16"]
    files["big.yaml"] = "\n".join(big) + "\n"
    return files


def test_sigkill_leaves_each_file_original_or_hardened(tmp_path):
    rng = random.Random(20240611)
    originals = _kill_corpus(40)
    names = sorted(originals)
    ref = tmp_path / "ref"
    ref.mkdir()
    for n, text in originals.items():
        (ref / n).write_text(text)
    p = subprocess.run([sys.executable, "-m", "hardener", "--write", "-q", *names], cwd=ref, capture_output=True)
    assert p.returncode in (0, 1), p.stderr.decode()
    hardened = {n: (ref / n).read_bytes() for n in names}
    assert all(hardened[n] != originals[n].encode() for n in names)

    work = tmp_path / "work"
    work.mkdir()
    for n, text in originals.items():
        (work / n).write_text(text)
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "hardener", "--write", "-q", *names], cwd=work, capture_output=True)
    duration = time.monotonic() - t0
    assert p.returncode in (0, 1)
    runs = 30
    partial = 0
    for i in range(runs):
        for n, text in originals.items():
            (work / n).write_text(text)
        for t in temp_files(work):
            os.unlink(work / t)
        delay = duration * (i + rng.random()) / runs * 1.1
        proc = subprocess.Popen([sys.executable, "-m", "hardener", "--write", "-q", *names], cwd=work,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        done = 0
        for n in names:
            got = (work / n).read_bytes()
            assert got in (originals[n].encode(), hardened[n]), (
                f"run {i} (killed after {delay:.3f}s): {n} is neither the original nor the hardened file")
            done += got == hardened[n]
            assert stat.S_IMODE(os.stat(work / n).st_mode) == 0o644
        partial += 0 < done < len(names)
    print(f"{runs} kills over a {duration:.2f}s run; {partial} landed between two files")


SLOW_FSYNC = """
import os, sys, time
real = os.fsync
def slow(fd):
    time.sleep(30)
    return real(fd)
os.fsync = slow
sys.argv = ["compose-harden", "--write", "-q", "compose.yaml"]
import hardener.cli
hardener.cli.main()
"""


def _interrupt_while_writing(tmp_path, sig):
    """Start a write whose fsync hangs, send ``sig`` once the temporary file exists."""
    p = tmp_path / "compose.yaml"
    p.write_text(GOOD)
    proc = subprocess.Popen([sys.executable, "-c", SLOW_FSYNC], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not temp_files(tmp_path):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no temporary file appeared"
        time.sleep(0.005)
    proc.send_signal(sig)
    try:
        proc.communicate(timeout=20)
    finally:
        proc.kill()
    return p


def test_sigint_while_writing_leaves_no_temp_file(tmp_path):
    p = _interrupt_while_writing(tmp_path, signal.SIGINT)
    assert p.read_text() == GOOD
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_while_writing_leaves_no_temp_file(tmp_path, sig):
    p = _interrupt_while_writing(tmp_path, sig)
    assert p.read_text() == GOOD
    assert temp_files(tmp_path) == [], "temporary file left behind"


# --- standard input ------------------------------------------------------------------------------


def test_write_stdin_prints_hardened_document(tmp_path):
    expected = hardened_of(tmp_path, GOOD)
    r = invoke(["--write", "-"], input=GOOD.encode())
    assert r.exit_code in (0, 1), r.output
    assert r.stdout_bytes == expected
    assert "<stdin>" in r.stderr


def test_write_stdin_nothing_to_change_echoes_input(tmp_path):
    text = "services:\n  web:\n    image: nginx  # alone\n"
    r = invoke(["--write", "-"], input=text.encode())
    assert r.exit_code == 0, r.output
    assert r.stdout_bytes == text.encode()


def test_diff_stdin_prints_diff(tmp_path):
    r = invoke(["--diff", "-"], input=GOOD.encode())
    assert r.exit_code == 1, r.output
    assert r.stdout.startswith("--- a/<stdin>\n+++ b/<stdin>\n"), r.stdout
    assert "+    networks:" in r.stdout
    r = invoke(["-"], input=GOOD.encode())  # --diff is the default
    assert r.exit_code == 1 and "+++ b/<stdin>" in r.stdout


def test_check_stdin(tmp_path):
    r = invoke(["--check", "-"], input=GOOD.encode())
    assert r.exit_code == 1
    assert r.stdout.strip() == "would harden <stdin>"


@pytest.mark.parametrize("bom", [False, True], ids=["no-bom", "bom"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("final_newline", [True, False], ids=["final-nl", "no-final-nl"])
def test_stdin_byte_format_survives(tmp_path, bom, newline, final_newline):
    text = GOOD if final_newline else GOOD.rstrip("\n")
    data = (("\ufeff" if bom else "") + text.replace("\n", newline)).encode()
    r = invoke(["--write", "-"], input=data)
    assert r.exit_code in (0, 1), r.output
    out = r.stdout_bytes
    assert out != data
    assert out.startswith(b"\xef\xbb\xbf") == bom
    assert not out[3 if bom else 0:].startswith(b"\xef\xbb\xbf"), "BOM doubled"
    if newline == "\r\n":
        assert out.count(b"\n") == out.count(b"\r\n"), "bare LF in a CRLF document"
    else:
        assert b"\r" not in out
    assert out.endswith(newline.encode()) == final_newline
    # the same bytes as a file gives the same result
    assert out == hardened_of(tmp_path, data)
    # every input line survives
    out_lines = out.decode("utf-8-sig").splitlines()
    for line in data.decode("utf-8-sig").splitlines():
        assert line in out_lines
    # and the diff of the same input names stdin and applies cleanly
    r = invoke(["--diff", "-"], input=data)
    assert r.exit_code == 1 and "+++ b/<stdin>" in r.stdout


def test_stdin_given_twice_is_a_usage_error():
    r = invoke(["--diff", "-", "-"], input=GOOD.encode())
    assert r.exit_code == 2


def test_stdin_bad_input_prints_nothing_on_stdout():
    r = invoke(["--write", "-"], input=b"services:\n  web:\n    image: a\n    image: b\n")
    assert r.exit_code == 2
    assert r.stdout_bytes == b""
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and ":4:5" in errors[0], r.stderr


def test_stdin_and_files_in_one_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "compose.yaml").write_text(GOOD)
    r = invoke(["--write", "-", "compose.yaml"], input=GOOD.encode())
    assert r.exit_code in (0, 1), r.output
    assert r.stdout_bytes == (tmp_path / "compose.yaml").read_bytes()


def test_write_stdin_real_process(tmp_path):
    data = ("\ufeff" + GOOD.replace("\n", "\r\n")).encode()
    p = subprocess.run([sys.executable, "-m", "hardener", "--write", "-"], input=data, capture_output=True, cwd=tmp_path)
    assert p.returncode in (0, 1), p.stderr.decode()
    assert p.stdout == hardened_of(tmp_path, data)
    assert temp_files(tmp_path) == [] and os.listdir(tmp_path) == ["ref-ref.yaml"]


def test_a_project_of_several_files_is_written_all_or_nothing(tmp_path, monkeypatch):
    """Every file of a project is prepared before the first is renamed: when the second cannot
    be written, the first stays as it was too, and no temporary file is left."""
    import hardener.writer
    from click.testing import CliRunner

    from hardener.cli import cli
    from hardener.errors import WriteError

    base = "services:\n  db:\n    image: postgres:16\n  app:\n    image: x/app\n"
    over = "services:\n  app:\n    environment:\n      DB: db:5432\n  cache:\n    image: redis:7\n"
    (tmp_path / "compose.yaml").write_text(base)
    (tmp_path / "compose.override.yaml").write_text(over)
    real_prepare = hardener.writer.prepare
    calls = []

    def prepare(source, data):
        calls.append(source.path)
        if len(calls) == 2:
            raise WriteError(source.path, "cannot write: injected failure")
        return real_prepare(source, data)

    monkeypatch.setattr(hardener.writer, "prepare", prepare)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["--write", "-q"])
    assert r.exit_code == 2
    assert len(calls) == 2, "both files of the project had changes to write"
    assert (tmp_path / "compose.yaml").read_text() == base
    assert (tmp_path / "compose.override.yaml").read_text() == over
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
