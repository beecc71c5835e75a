"""Write hardened files: atomically (a temporary file in the same directory, fsync, rename) with
all of the file's metadata, or in place when a new file could not carry it.

The target is the real file behind any symlink (the link stays a link). The temporary file gets
the original's owner and group first, then its extended attributes (POSIX ACLs are the
``system.posix_acl_access`` attribute; attributes a default ACL of the folder added are removed),
then its permission bits, setuid, setgid and sticky included (a chown clears setuid and setgid,
so it comes first). A file whose metadata a new file cannot get -- several hard links (a rename
would leave the other names with the old content), an owner the process may not give away, an
attribute it may not set -- is written in place instead, keeping its inode: its old content is
saved beside it first and removed once the new content is on disk, so that nothing is lost if
the run dies in between.

A file that changed on disk since it was read, or that the user may not write, is never
overwritten. When a project spans several files, every file is prepared before the first is
renamed, so a failure leaves all of them as they were. No temporary file is left behind, whatever
fails (SIGTERM and SIGHUP unwind through the cleanup too; only SIGKILL cannot, and then the
original is intact, or, for a file written in place, its old content is in the saved copy).
"""

from __future__ import annotations

import os
import signal
import stat
from collections.abc import Iterator
from contextlib import contextmanager

from hardener.errors import WriteError
from hardener.record import record
from hardener.source import Source


@record
class Prepared:
    """A file ready to be written: its new content in a temporary file next to the target."""

    source: Source
    target: str
    tmp: str  # the new content, ready to be renamed; for a file written in place: its old content
    data: bytes
    in_place: str | None = None  # why the file is written in place (None: renamed)
    writing: bool = False  # an in-place write has started: the saved old content must stay


def _unchanged(source: Source, path: str) -> None:
    try:
        with open(path, "rb") as fh:
            current = fh.read(len(source.raw) + 1)
    except OSError as exc:
        raise WriteError(source.path, f"cannot re-read before writing: {exc.strerror}") from None
    if current != source.raw:
        raise WriteError(source.path, "the file changed on disk since it was read: not overwritten (run again)")


def _xattrs(path: str) -> dict[str, bytes]:
    """The extended attributes of a file that this process can read (none where unsupported)."""
    if not hasattr(os, "listxattr"):
        return {}
    out: dict[str, bytes] = {}
    try:
        names = os.listxattr(path)
    except OSError:
        return {}
    for name in names:
        try:
            out[name] = os.getxattr(path, name)
        except OSError:
            pass
    return out


def _copy_metadata(st: os.stat_result, original: str, tmp: str) -> str | None:
    """Give ``tmp`` the owner, extended attributes and mode of ``original``, in that order. None
    when all of it was copied, else what could not be (the file is then written in place)."""
    try:
        os.chown(tmp, st.st_uid, st.st_gid)
    except (PermissionError, AttributeError):
        pass
    new = os.stat(tmp)
    if (new.st_uid, new.st_gid) != (st.st_uid, st.st_gid):
        return f"its owner ({st.st_uid}:{st.st_gid}) cannot be given to a new file by this user"
    want = _xattrs(original)
    have = _xattrs(tmp)
    for name in sorted(set(have) - set(want)):  # e.g. a default ACL of the folder, inherited
        try:
            os.removexattr(tmp, name)
        except OSError:
            return f"the extended attribute {name} cannot be removed from a new file"
    for name, value in sorted(want.items()):
        if have.get(name) == value:
            continue
        try:
            os.setxattr(tmp, name, value)
        except OSError:
            return f"its extended attribute {name} cannot be set on a new file by this user"
    os.chmod(tmp, stat.S_IMODE(st.st_mode))
    if stat.S_IMODE(os.stat(tmp).st_mode) != stat.S_IMODE(st.st_mode):
        return f"its mode {oct(stat.S_IMODE(st.st_mode))} cannot be given to a new file by this user"
    return None


def prepare(source: Source, data: bytes) -> Prepared:
    """Write ``data`` to a temporary file beside the target, ready to be renamed over it (or,
    for a file written in place, save its old content beside it)."""
    path = source.real_path
    if path is None:
        raise WriteError(source.path, "standard input cannot be written in place")
    try:
        st = os.stat(path)
    except OSError as exc:
        raise WriteError(source.path, f"cannot write: {exc.strerror}") from None
    _unchanged(source, path)
    if not os.access(path, os.W_OK):
        # the rename would succeed in a writable directory, but the file itself says read-only
        raise WriteError(source.path, "cannot write: the file is read-only (permission denied)")
    directory = os.path.dirname(path)
    import tempfile  # only when writing

    in_place = f"it has {st.st_nlink} hard links" if st.st_nlink > 1 else None
    tmp = ""
    try:
        try:
            # no signal between the file's creation and its registration: the cleanup knows every
            # temporary file there is
            with _signals_held():
                fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".compose-harden.tmp", dir=directory)
                _CREATED.append(tmp)
        except OSError as exc:
            raise WriteError(source.path, f"cannot create a temporary file in {directory}: {exc.strerror}") from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(source.raw if in_place else data)
            fh.flush()
            os.fsync(fh.fileno())
        if not in_place:
            in_place = _copy_metadata(st, path, tmp)
            if in_place:  # the temporary file now keeps the old content instead
                with open(tmp, "wb") as fh:
                    fh.write(source.raw)
                    fh.flush()
                    os.fsync(fh.fileno())
    except BaseException as exc:
        if tmp:
            _remove(tmp)
        if isinstance(exc, OSError):
            raise WriteError(source.path, f"cannot write: {exc.strerror}") from None
        raise
    return Prepared(source, path, tmp, data, in_place)


def commit(prepared: Prepared) -> None:
    """Rename the prepared file over its target (a last look first: another writer may have been faster)."""
    if prepared.in_place:
        _write_in_place(prepared)
        return
    try:
        _unchanged(prepared.source, prepared.target)
        os.replace(prepared.tmp, prepared.target)
    except OSError as exc:
        raise WriteError(prepared.source.path, f"cannot write: {exc.strerror}") from None
    finally:
        _remove(prepared.tmp)
    _sync_directory(prepared.target)


def _write_in_place(prepared: Prepared) -> None:
    """Overwrite the file's bytes, keeping its inode (links, owner, attributes); its old content
    is in ``prepared.tmp`` until the new content is on disk."""
    import fcntl

    source = prepared.source
    try:
        fd = os.open(prepared.target, os.O_RDWR)
    except OSError as exc:
        raise WriteError(source.path, f"cannot write: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another compose-harden writing it in place waits here
        current = b""
        while len(current) <= len(source.raw):
            chunk = os.pread(fd, len(source.raw) + 1 - len(current), len(current))
            if not chunk:
                break
            current += chunk
        if current != source.raw:
            raise WriteError(source.path, "the file changed on disk since it was read: not overwritten (run again)")
        prepared.writing = True
        view = memoryview(prepared.data)
        written = 0
        while written < len(view):
            written += os.pwrite(fd, view[written:], written)
        os.ftruncate(fd, len(prepared.data))
        os.fsync(fd)
        prepared.writing = False
    except OSError as exc:
        where = f"; its old content is saved in {prepared.tmp}" if prepared.writing else ""
        raise WriteError(source.path, f"cannot write in place: {exc.strerror}{where}") from None
    finally:
        os.close(fd)
    _remove(prepared.tmp)


def _sync_directory(path: str) -> None:
    try:
        dfd = os.open(os.path.dirname(path), os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def write_files(items: list[tuple[Source, bytes]]) -> list[Prepared]:
    """Write several files: all are prepared before any is renamed. Returns what was done
    (``in_place`` says which files were written in place, and why)."""
    prepared: list[Prepared] = []
    try:
        for source, data in items:
            prepared.append(prepare(source, data))
        for p in prepared:
            commit(p)
    finally:
        # every temporary file this process made, including one whose prepare() was interrupted
        # on its way back; a file being written in place keeps its saved old content
        keep = {p.tmp for p in prepared if p.writing}
        for tmp in list(_CREATED):
            if tmp not in keep:
                _remove(tmp)
    return prepared


def write_atomic(source: Source, data: bytes) -> Prepared:
    return write_files([(source, data)])[0]


# temporary files created and not yet removed (see prepare() and write_files())
_CREATED: list[str] = []


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP wait (they are delivered on leaving), where the platform can."""
    block = getattr(signal, "pthread_sigmask", None)
    if block is None:
        yield
        return
    wanted = {getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)}
    old = block(signal.SIG_BLOCK, wanted)
    try:
        yield
    finally:
        block(signal.SIG_SETMASK, old)


def _remove(path: str) -> None:
    if path in _CREATED:
        _CREATED.remove(path)
    try:
        if os.path.exists(path):
            os.unlink(path)
    except OSError:
        pass
