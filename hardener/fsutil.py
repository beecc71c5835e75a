"""Path checks shared by everything that reads or writes files of the project."""

from __future__ import annotations

import os


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
