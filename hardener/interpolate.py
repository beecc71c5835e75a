"""Compose-style variable interpolation, for reading values (never for writing them).

``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?err}``, ``${VAR:+alt}``, ``${VAR}``, ``$VAR`` and
``$$`` are resolved from the project's ``.env`` file; a variable that is not set and has no default
resolves to the empty string, as Compose does. The process environment is deliberately not read,
so the analysis of a file is the same on every machine.
"""

from __future__ import annotations

import re

_VAR = re.compile(r"\$(?:(\$)|\{([^{}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_ESCAPED = "\x00dollar\x00"
_BRACED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", re.S)


def interpolate(value: str, env: dict[str, str], depth: int = 0) -> str:
    if "$" not in value:
        return value

    def repl(m: re.Match) -> str:
        if m.group(1):
            return "$"
        if m.group(3):
            return env.get(m.group(3), "")
        inner = m.group(2)
        b = _BRACED.match(inner)
        if not b:
            return m.group(0)
        name, op, arg = b.group(1), b.group(2), b.group(3) or ""
        cur = env.get(name)
        if op is None:
            return cur or ""
        if op in (":-", "-"):
            unset = cur is None or (op == ":-" and cur == "")
            return interpolate(arg, env, depth + 1) if unset and depth < 5 else (cur or "")
        if op in (":+", "+"):
            isset = cur is not None and (op == "+" or cur != "")
            return interpolate(arg, env, depth + 1) if isset and depth < 5 else ""
        return cur or ""

    # "$$" is a literal dollar; nested defaults such as ${A:-${B:-x}} resolve innermost first
    out = value.replace("$$", _ESCAPED)
    prev = None
    for _ in range(4):
        if out == prev or "$" not in out:
            break
        prev = out
        out = _VAR.sub(repl, out)
    return out.replace(_ESCAPED, "$")


def unresolved(value: str, env: dict[str, str]) -> list[str]:
    """Variables in ``value`` that are not set in ``env`` and have no default: Compose would take
    them from the shell environment of whoever runs it, so the tool cannot know their value."""
    if "$" not in value:
        return []
    out: list[str] = []
    for m in _VAR.finditer(value.replace("$$", "")):
        if m.group(3):
            name, op = m.group(3), None
        elif m.group(2):
            b = _BRACED.match(m.group(2))
            if not b:
                continue
            name, op = b.group(1), b.group(2)
        else:
            continue
        if op in (":-", "-", ":+", "+"):
            continue
        if name not in env or (op == ":?" and env.get(name) == ""):
            out.append(name)
    return out
