"""A group's members sorted into network situations, kept up to date as the plan moves them.

The planner keeps a group ("reaches every data store") through one representative member per
distinct network situation: the networks before, the networks planned so far, re-tiered or not,
the network mode (see :mod:`hardener.plan.keep`). Thousands of groups can share one member tuple
while its members move between the groups' turns; the situations are updated for the namespaces
that moved, not rebuilt from every member each time one of them moved (which made the planner
grow with the square of the services on stacks where every proxy reaches every application).

The result is the same as a rebuild: the situations in the order of their first member in the
tuple, each one's members in the tuple's order.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import Callable, Hashable, Iterator


class Situations:
    """The situations of one member tuple. ``key(owner)`` gives a namespace's situation; a
    namespace that moves is added to :attr:`moved` (the planner's ``join`` and ``leave`` do it
    through ``watchers``), and :meth:`refresh` brings the situations up to date."""

    def __init__(self, dsts: tuple[str, ...], owner: Callable[[str], str], key: Callable[[str], Hashable],
                 watchers: dict[str, list[set[str]]]) -> None:
        self.dsts = dsts
        self._owner = owner
        self._key = key
        self.moved: set[str] = set()
        self.positions_of: dict[str, list[int]] = {}  # namespace -> positions of its members
        for pos, d in enumerate(dsts):
            self.positions_of.setdefault(owner(d), []).append(pos)
        for o in self.positions_of:
            watchers.setdefault(o, []).append(self.moved)
        self._build()

    def _build(self) -> None:
        self.key_of = {o: self._key(o) for o in self.positions_of}
        self._positions: dict[Hashable, list[int]] = {}
        for pos, d in enumerate(self.dsts):
            self._positions.setdefault(self.key_of[self._owner(d)], []).append(pos)
        self._arrange()

    def _arrange(self) -> None:
        keys = sorted(self._positions, key=lambda k: self._positions[k][0])
        self._order = [self._positions[k] for k in keys]
        self._index = {k: j for j, k in enumerate(keys)}
        self.memo: dict = {}  # the planner's figures about these situations, valid until they change

    def refresh(self) -> bool:
        """Move the members of the namespaces that moved to their new situations; True when a
        situation changed (and :attr:`memo` was emptied)."""
        changed = False
        for o in self.moved:  # any order: positions are kept sorted, the result is the same
            new = self._key(o)
            old = self.key_of[o]
            if new == old:
                continue
            self.key_of[o] = new
            changed = True
            old_ps = self._positions[old]
            new_ps = self._positions.setdefault(new, [])
            for p in self.positions_of[o]:
                del old_ps[bisect_left(old_ps, p)]
                insort(new_ps, p)
            if not old_ps:
                del self._positions[old]
        self.moved.clear()
        if changed:
            self._arrange()
        return changed

    def __len__(self) -> int:
        return len(self._order)

    def first(self, j: int) -> str:
        """The first member of situation ``j`` (its representative)."""
        return self.dsts[self._order[j][0]]

    def members(self, j: int) -> Iterator[str]:
        """The members of situation ``j``, in the tuple's order."""
        return (self.dsts[p] for p in self._order[j])

    def of_owner(self, owner: str) -> int | None:
        """The situation of the members of namespace ``owner`` (None when none is in the tuple)."""
        key = self.key_of.get(owner)
        return None if key is None else self._index[key]
