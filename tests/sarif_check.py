"""Helpers for SARIF tests: validation against the official 2.1.0 schema (shipped in
tests/data, OASIS errata 01 text) and applying a log's fixes to the original files."""

import json
import os
from functools import lru_cache

from jsonschema import Draft4Validator

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "sarif-schema-2.1.0.json")


@lru_cache(maxsize=1)
def validator():
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def validate(log: dict) -> None:
    errors = sorted(validator().iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def _offset(text: str, line: int, column: int) -> int:
    """Character offset of a 1-based line/column, counted as the tool counts lines (one model,
    hardener.lines): lines end at \\n (\\r\\n included), as SARIF's default
    ``run.newlineSequences`` (["\\r\\n", "\\n"]) says; a lone \\r, U+0085 or U+2028 inside a
    quoted scalar does not end a line. A file with CR-only line endings (no \\n at all) has its
    lines end at \\r."""
    sep = "\r" if "\n" not in text and "\r" in text else "\n"
    pos = 0
    for _ in range(line - 1):
        nl = text.find(sep, pos)
        if nl < 0:
            raise AssertionError(f"line {line} beyond the text")
        pos = nl + 1
    return pos + column - 1


def apply_fixes(log: dict, read) -> dict[str, str]:
    """uri -> the text after applying every fix of every result, in result order (the order
    ``--write`` composes them). ``read(uri)`` gives the original text (BOM removed)."""
    changes: dict[str, list] = {}
    for run in log["runs"]:
        for result in run.get("results", []):
            for fix in result.get("fixes", []):
                for change in fix["artifactChanges"]:
                    uri = change["artifactLocation"]["uri"]
                    changes.setdefault(uri, []).extend(change["replacements"])
    out = {}
    for uri, replacements in changes.items():
        text = read(uri)
        spans = []
        for rep in replacements:
            r = rep["deletedRegion"]
            start = _offset(text, r["startLine"], r["startColumn"])
            end = _offset(text, r["endLine"], r["endColumn"])
            spans.append((start, end, rep.get("insertedContent", {}).get("text", "")))
        # stable: replacements at one position keep the order the log gives them
        spans = sorted(enumerate(spans), key=lambda p: (p[1][0], p[1][1], p[0]))
        pieces, pos = [], 0
        for _, (start, end, new) in spans:
            assert start >= pos, f"{uri}: overlapping replacements"
            pieces += [text[pos:start], new]
            pos = end
        pieces.append(text[pos:])
        out[uri] = "".join(pieces)
    return out
