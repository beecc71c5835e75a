"""Path checks shared by everything that reads files of the project."""

from __future__ import annotations

import os


def under(real: str, real_root: str) -> bool:
    """Is the resolved path ``real`` the resolved folder ``real_root`` or inside it?"""
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def inside(path: str, root: str) -> bool:
    """Is ``path`` inside ``root`` once symlinks are resolved?"""
    return under(os.path.realpath(path), os.path.realpath(root))
