"""Path checks shared by everything that reads or writes files of the project."""

from __future__ import annotations

import os
import stat

# folder (absolute, normalised) -> its real path, for the rest of the command: see realpath()
_REAL_FOLDERS: dict[str, str] = {}


def realpath(path: str) -> str:
    """``os.path.realpath(path)``, remembering the real path of each folder on the way while one
    project is hardened: it reads many files in the same few folders, and os.path.realpath
    lstat()s every component of every path again. Only the last component is looked at anew
    (a link there is resolved as os.path.realpath does). The pipeline forgets the folders at the
    start of each project (:func:`forget_folders`), so that a long-running caller sees a folder
    replaced by a link since."""
    given = path
    relative = not path.startswith(os.sep)
    if relative:
        path = os.path.join(os.getcwd(), path)  # the kernel's working folder is a real path
    if path.startswith("//") or os.path.normpath(path) != path:
        return os.path.realpath(given)  # with "." / ".." to resolve in order
    pending: list[tuple[str, str]] = []  # (folder, name) from the path up to a known folder
    head = path
    while head not in _REAL_FOLDERS:
        parent, name = os.path.split(head)
        if not name:  # the root
            _REAL_FOLDERS[head] = os.path.realpath(head)
            break
        pending.append((head, name))
        head = parent
    real = _REAL_FOLDERS[head]
    for i, (prefix, name) in enumerate(reversed(pending)):
        full = os.path.join(real, name)
        try:
            link = stat.S_ISLNK(os.lstat(full).st_mode)
        except OSError:
            link = False  # missing: kept as written, as os.path.realpath does
        if link:
            if relative:
                # a relative path through a link: os.path.realpath resolves a link loop in it
                # differently from the same path made absolute, so it answers for the whole path
                return os.path.realpath(given)
            real = os.path.realpath(full)
            if i < len(pending) - 1 and not os.path.isdir(real):
                return os.path.realpath(given)  # a loop or a dangling link: nothing remembered
        else:
            real = full
        if i < len(pending) - 1:
            _REAL_FOLDERS[prefix] = real
    return real


def forget_folders() -> None:
    _REAL_FOLDERS.clear()


def under(real: str, real_root: str) -> bool:
    """Is the resolved path ``real`` the resolved folder ``real_root`` or inside it?"""
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def inside(path: str, root: str) -> bool:
    """Is ``path`` inside ``root`` once symlinks are resolved?"""
    return under(os.path.realpath(path), os.path.realpath(root))


def in_scope(path: str, root: str, dirs: bool = False) -> bool:
    """The one rule for what the tool may read or write in folder mode: a regular file (or,
    with ``dirs``, a directory) whose real path, every link resolved, is inside ``root``."""
    return scope_problem(path, root, dirs) is None


def scope_problem(path: str, root: str, dirs: bool = False) -> str | None:
    """Why ``path`` is out of scope for ``root`` (None when it is in scope)."""
    real = os.path.realpath(path)
    if not under(real, os.path.realpath(root)):
        return f"a link leading out of {root}"
    if dirs and os.path.isdir(real) or not dirs and os.path.isfile(real):
        return None
    return "not a regular file" if os.path.exists(real) else "a dangling link"
