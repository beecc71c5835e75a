"""Write a hardened file atomically: a temporary file in the same directory, fsync, rename.

The target is the real file behind any symlink (the link stays a link), its permission bits are
kept (and its owner, where the process may set it), and a file that changed on disk since it was
read is never overwritten. A run that is not killed leaves no temporary file behind.
"""

from __future__ import annotations

import os
import stat
import tempfile

from hardener.errors import WriteError
from hardener.source import Source


def write_atomic(source: Source, data: bytes) -> None:
    path = source.real_path
    if path is None:
        raise WriteError(source.path, "standard input cannot be written in place")
    try:
        st = os.stat(path)
        with open(path, "rb") as fh:
            current = fh.read(len(source.raw) + 1)
    except OSError as exc:
        raise WriteError(source.path, f"cannot re-read before writing: {exc.strerror}") from None
    if current != source.raw or st.st_size != len(source.raw):
        raise WriteError(source.path, "the file changed on disk since it was read: not overwritten (run again)")
    if not os.access(path, os.W_OK):
        # the rename would succeed in a writable directory, but the file itself says read-only
        raise WriteError(source.path, "cannot write: the file is read-only (permission denied)")
    directory = os.path.dirname(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".compose-harden.tmp", dir=directory)
    except OSError as exc:
        raise WriteError(source.path, f"cannot create a temporary file in {directory}: {exc.strerror}") from None
    try:
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
            with open(path, "rb") as fh:  # last look: another writer may have been faster
                if fh.read(len(source.raw) + 1) != source.raw:
                    raise WriteError(source.path, "the file changed on disk since it was read: not overwritten (run again)")
            os.replace(tmp, path)
        except OSError as exc:
            raise WriteError(source.path, f"cannot write: {exc.strerror}") from None
    finally:
        if os.path.exists(tmp):
            try:
                os.unlink(tmp)
            except OSError:
                pass
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
