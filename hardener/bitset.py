"""Sets of small integers as Python ints (bit j set for member j): the planner and the safety
check use them to find, among thousands of members of a group, the few that share no network
with a source -- a handful of whole-set operations per source instead of a test per member."""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping


def bits(indices: Iterable[int]) -> int:
    """The set of ``indices``."""
    out = 0
    for j in indices:
        out |= 1 << j
    return out


def ones(mask: int) -> Iterator[int]:
    """The members of ``mask``, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def union(sets: Mapping[str, int], keys: Iterable[str]) -> int:
    """The union of the sets of ``keys`` (a key without one adds nothing)."""
    out = 0
    for k in keys:
        out |= sets.get(k, 0)
    return out
