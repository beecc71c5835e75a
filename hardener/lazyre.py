"""Regular expressions compiled on first use: most runs never need most of them, and a command
line tool pays for every module-level compile at start-up."""

from __future__ import annotations

import re
from typing import Any


class LazyRe:
    __slots__ = ("_args", "_rx")

    def __init__(self, pattern: str, flags: int = 0):
        self._args = (pattern, flags)
        self._rx: re.Pattern | None = None

    def __getattr__(self, name: str) -> Any:  # search, finditer, sub, ...
        rx = self._rx
        if rx is None:
            rx = self._rx = re.compile(*self._args)
        return getattr(rx, name)
