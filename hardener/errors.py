"""Error types shared by the pipeline.

Every error that stops one file carries the file name and, where there is one, the 1-based line
and column, so the command line can print it as a single ``file:line:column: problem`` line.
"""

from __future__ import annotations


class HardenError(Exception):
    """A file could not be processed; nothing is written for it."""

    def __init__(self, path: str, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.path = path
        self.message = message
        self.line = line
        self.column = column

    def location(self) -> str:
        path = "<stdin>" if self.path == "-" else self.path
        if self.line is None:
            return path
        if self.column is None:
            return f"{path}:{self.line}"
        return f"{path}:{self.line}:{self.column}"

    def __str__(self) -> str:
        return f"{self.location()}: {self.message}"


class InputError(HardenError):
    """The input is not something the tool can harden (bad YAML, not a compose file, ...)."""


class ParserLimit(InputError):
    """Valid YAML that only the slow YAML 1.2 parser reads, in a text larger than it is tried on."""


class EmptyInput(InputError):
    """No YAML document: an empty file, or only comments (Compose accepts one as an override)."""


class VerifyError(HardenError):
    """The tool's own edit did not produce exactly the planned model: a bug, the file is refused."""


class WriteError(HardenError):
    """The hardened file could not be written safely."""


class UsageError(Exception):
    """Wrong command-line usage (exit status 2)."""
