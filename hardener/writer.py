"""Write hardened files atomically: a temporary file in the same directory, fsync, rename.

The target is the real file behind any symlink (the link stays a link), its permission bits are
kept (and its owner, where the process may set it), and a file that changed on disk since it was
read, or that the user may not write, is never overwritten. When a project spans several files,
every file is prepared (written to its temporary file and checked) before the first is renamed,
so a failure leaves all of them as they were. No temporary file is left behind, whatever fails
(SIGTERM and SIGHUP unwind through the cleanup too; only SIGKILL cannot, and then the original
is intact, since the rename is the last step).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from hardener.errors import WriteError
from hardener.source import Source


@dataclass
class Prepared:
    source: Source
    target: str
    tmp: str


def _unchanged(source: Source, path: str) -> None:
    try:
        with open(path, "rb") as fh:
            current = fh.read(len(source.raw) + 1)
    except OSError as exc:
        raise WriteError(source.path, f"cannot re-read before writing: {exc.strerror}") from None
    if current != source.raw:
        raise WriteError(source.path, "the file changed on disk since it was read: not overwritten (run again)")


def prepare(source: Source, data: bytes) -> Prepared:
    """Write ``data`` to a temporary file beside the target, ready to be renamed over it."""
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

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".compose-harden.tmp", dir=directory)
    except OSError as exc:
        raise WriteError(source.path, f"cannot create a temporary file in {directory}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        try:
            os.chown(tmp, st.st_uid, st.st_gid)
        except (PermissionError, AttributeError):
            pass
    except BaseException as exc:
        _remove(tmp)
        if isinstance(exc, OSError):
            raise WriteError(source.path, f"cannot write: {exc.strerror}") from None
        raise
    return Prepared(source, path, tmp)


def commit(prepared: Prepared) -> None:
    """Rename the prepared file over its target (a last look first: another writer may have been faster)."""
    try:
        _unchanged(prepared.source, prepared.target)
        os.replace(prepared.tmp, prepared.target)
    except OSError as exc:
        raise WriteError(prepared.source.path, f"cannot write: {exc.strerror}") from None
    finally:
        _remove(prepared.tmp)
    try:
        dfd = os.open(os.path.dirname(prepared.target), os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def write_files(items: list[tuple[Source, bytes]]) -> None:
    """Write several files: all are prepared before any is renamed."""
    prepared: list[Prepared] = []
    try:
        for source, data in items:
            prepared.append(prepare(source, data))
        for p in prepared:
            commit(p)
    finally:
        for p in prepared:
            _remove(p.tmp)


def write_atomic(source: Source, data: bytes) -> None:
    write_files([(source, data)])


def _remove(path: str) -> None:
    try:
        if os.path.exists(path):
            os.unlink(path)
    except OSError:
        pass
