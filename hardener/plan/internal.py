"""Which networks become ``internal: true``, and which new networks are kept at all.

Of the new networks only the data tier is ever internal: ``frontend`` and ``backend`` are ways
out. A declared network carrying data stores is marked internal when no member loses anything: a
member that needs a way out and has no other one first joins an egress network (``backend`` when
free, else ``<network>-egress``); a member whose networks cannot be edited blocks it (reported).
A network with an explicit ``name:`` (other projects attach to it) is never made internal, nor is
an externally managed one. New networks that add nothing (one member that has another way out,
or members that all share another network) are dropped, and when everything re-tiered ended up on
one ordinary network the services simply stay on ``default``.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterator

from hardener.plan.model import Finding, NetworkPlan


class Internal:
    def mark_internal(self) -> None:
        created = {self.names[r] for r in self.data_roles()}
        candidates: dict[str, None] = {}  # an ordered set
        for net in list(self.declared) + sorted(created):
            if net == "default" or self.external(net) or self.already_internal(net) or net in candidates:
                continue
            members = self.members_of(net)
            stores = [m for o in members for m in self.members(o) if self.is_data_store(m)]
            if not stores:
                continue
            # A declared network whose data stores all need a way out anyway (they publish ports)
            # would gain nothing from internal: leave it (the stores are reported).
            if net not in created and all(
                self.needs_way_out(o) for o in members if any(self.is_data_store(m) for m in self.members(o))
            ):
                continue
            fixed = self.fixed_name(net)
            if fixed and net not in created:
                self.plan.findings.append(Finding(
                    "data-egress", sorted(stores)[0],
                    f"network {net} carries data stores {', '.join(sorted(stores)[:5])} but is not made internal: its "
                    f"fixed name {fixed} lets other projects attach to it, and internal would change it under them",
                    False))
                continue
            if net not in created and self.unresolved:
                continue  # a service whose network cannot be resolved may be on it
            if net not in created and self.pinned(net):
                if not any(f.rule == "flat-network" and f.service in stores for f in self.plan.findings):
                    self.plan.findings.append(Finding(
                        "data-egress", sorted(stores)[0],
                        f"network {net} carries data stores {', '.join(sorted(stores)[:5])} but is not made internal: "
                        f"it has {self.fixed_addressing(net)}, and the tool does not change networks services pin "
                        "addresses on", False))
                continue
            candidates[net] = None
        internal = set(candidates)
        ways_out: dict[str, tuple] = {}  # see has_way_out
        changed = True
        while changed:  # a member that cannot be given another way out blocks the network
            changed = False
            for net in sorted(internal):
                for o in self.members_of(net):
                    if not self.needs_way_out(o) or self.has_way_out(o, internal, net, ways_out):
                        continue
                    if o not in self.target:
                        internal.discard(net)
                        self.plan.findings.append(Finding(
                            "data-egress", None,
                            f"network {net} carries data stores but cannot be made internal: {o} needs a way out "
                            f"and its networks cannot be edited ({self.state[o].why_fixed or 'not editable'})",
                            False))
                        changed = True
                        break
        self.internal_pending = internal
        egress = EgressNetworks(self.names, self.net_index())
        for net in candidates:
            if net not in internal:
                continue
            for o in self.members_of(net):
                if self.needs_way_out(o) and not self.has_way_out(o, internal, net, ways_out):
                    if self.is_store_owner(o) and all(self.private_way_out(m) for m in self.members(o)):
                        # a data store gets a way out of its own, not a network shared with others
                        self.join(o, self.role_name(f"own:{o}"), f"{self.store_way_out(o)}: a way out of its own")
                    else:
                        way = self.egress_name(net, egress)
                        self.join(o, way, f"its way out once {net} is internal")
                        egress.joined(o, way)
        self.simplify(internal)
        renamed = self.single_data_network()
        if renamed:
            internal = {renamed[1] if n == renamed[0] else n for n in internal}
        for name in sorted(set(self.names.values()), key=lambda n: (self.rank(n), n)):
            self.plan.networks[name] = NetworkPlan(
                name, create=True, definition=self.new_definition(internal=name in internal),
                reason="new tier network")
        for net in candidates:
            if net in internal and net in self.declared and net not in self.plan.networks:
                self.plan.networks[net] = NetworkPlan(
                    net, set_internal=True,
                    reason="carries data stores; every member that needs a way out has another network")
        created_names = self.names.derived().names
        self.internal = {n for n in internal if n in self.declared or n in created_names}
        self.internal |= {n for n in self.declared if self.already_internal(n)}

    def simplify(self, internal: set[str]) -> None:
        """Drop new networks that add nothing, then fall back to ``default`` if nothing is left
        that separates anyone."""
        order = (["front"] + sorted(r for r in self.names if r.startswith(("egress:", "own:"))) + ["back"]
                 + sorted(self.data_roles()))
        # the roles of each name, taken once: deleting a role makes the names' derived tables be
        # rebuilt, which for hundreds of data networks dropped one by one would be quadratic
        roles_of = self.names.derived().roles_of
        ways: dict[str, list[str]] = {}  # see redundant
        for role in order:
            name = self.names.get(role)
            if name is None:
                continue
            members = set(self.members_of(name))
            if not members or self.redundant(name, members, internal, ways):
                for o in sorted(members):
                    self.leave(o, name)
                for r in roles_of.get(name, []):
                    if self.names.get(r) == name:
                        del self.names[r]
        # Everything re-tiered ended up together on one ordinary network: that is what default
        # already is, so leave those services there rather than rename their network.
        created = set(self.names.values())
        if created and not (created & internal) and self.movable:
            sets = {tuple(self.target[o]) for o in self.movable}
            if len(sets) == 1 and len(next(iter(sets))) == 1 and next(iter(sets))[0] in created:
                if all(set(self.members_of(n)) <= self.movable for n in created):
                    for o in self.movable:
                        self.target[o] = ["default"] if self.state[o].mode != "nets" else list(self.state[o].nets)
                        self.why[o] = {"default": "the project's own network: nothing to separate"}
                    self.names.clear()
                    self._net_members = None

    def single_data_network(self) -> tuple[str, str] | None:
        """When only one of several planned data networks is left, it takes the plain name
        ``data`` (if free): (old name, new name)."""
        roles = self.data_roles()
        if len(roles) != 1 or roles[0] == "data":
            return None
        old = self.names[roles[0]]
        if "data" in self.used_names:
            return None  # the project uses the name already: keep the one planned
        new = self.net_name("data", "data")
        for o, nets in self.target.items():
            if old in nets:
                nets[nets.index(old)] = new
                if old in self.why[o]:
                    self.why[o][new] = self.why[o].pop(old)
        for o, where in self.placement.items():
            if old in where:
                where[new] = where.pop(old)
        del self.names[roles[0]]
        self.store_roles = {s: "data" for s in self.store_roles}
        self._net_members = None
        return old, new

    def redundant(self, name: str, members: set[str], internal: set[str], ways: dict[str, list[str]]) -> bool:
        """Does every member of ``name`` keep what it gives without it? True when one other
        network holds them all (so it connects nobody new) -- or when only one service is on it
        -- and each member that needs a way out has another one. Only memberships that hold in
        every file of the project count.

        A service on thousands of networks (the data network of every store that reaches it) is
        not listed once per network: the network holding every member is looked for among those
        of the member on the fewest, in the network index, and each member's ways out (its
        networks that are not internal) are listed once per :meth:`simplify` in ``ways`` -- which
        only drops networks, so a way out listed is one while the member is still on it."""
        index = self.net_index()

        def others(o: str) -> Iterator[str]:
            return (n for n in self.nets_after(o) if n != name and not n.startswith("<") and not self.partial(o, n))

        def way_out_elsewhere(o: str) -> bool:
            if not self.needs_way_out(o):
                return True
            found = ways.get(o)
            if found is None:
                found = ways[o] = [n for n in self._ways_out(o, internal) if not self.partial(o, n)]
            return any(n != name and o in index.get(n, ()) for n in found)

        if any(self.partial(o, name) for o in members) or not all(way_out_elsewhere(o) for o in members):
            return False
        if len(members) == 1:
            return any(True for _ in others(next(iter(members))))
        fewest = min(members, key=lambda o: (len(self.nets_after(o)), o))
        return any(all(o in index.get(n, ()) and not self.partial(o, n) for o in members) for n in others(fewest))

    def has_way_out(self, owner: str, internal: set[str], net: str, cache: dict[str, tuple]) -> bool:
        """Is the namespace on a network other than ``net`` that is not (to be) internal? Its ways
        out are listed in ``cache`` once until its networks or ``internal`` change (only by
        :meth:`join` or :meth:`leave`, which count its moves, and by discarding from
        ``internal``): a service on thousands of internal networks is asked at each of them."""
        key = (self.moves.get(owner, 0), len(internal))
        hit = cache.get(owner)
        if hit is None or hit[0] != key:
            hit = cache[owner] = (key, self._ways_out(owner, internal))
        return any(n != net for n in hit[1])

    def _ways_out(self, owner: str, internal: set[str]) -> list[str]:
        return [n for n in self.nets_after(owner)
                if n not in internal and not n.startswith("<") and not self.already_internal(n)]

    def egress_name(self, net: str, egress: EgressNetworks) -> str:
        """The network that gives members of ``net`` their way out once ``net`` is internal: an
        existing new network when everyone on it is on ``net`` already (joining it connects
        nobody new; ``back`` first, then the ``egress:`` roles in order: see ``egress``, the
        caller's index of those networks), otherwise ``backend`` when free, otherwise
        ``<net>-egress``."""
        key = f"egress:{net}"
        if key in self.names:
            return self.names[key]
        name = egress.fitting(net, self.net_index().get(net, {}), self.internal_pending)
        if name is None:
            if "back" not in self.names and self.network_base("back") not in self.used_names:
                name = self.role_name("back")
                egress.add("back", name)
            else:
                name = self.net_name(key, f"{net}-egress")
        self.names[key] = name
        egress.add(key, name)
        return name


class EgressNetworks:
    """The networks that ``back`` and the ``egress:`` roles name, for :meth:`Internal.egress_name`
    during one pass of :meth:`Internal.mark_internal` (which only adds members to networks). A
    network fits ``net`` when every namespace on it is on ``net``: counting, for the namespaces on
    ``net``, the egress networks each one is on finds those without looking at every role -- a
    stack can have thousands, one per block network made internal."""

    def __init__(self, names: dict[str, str], index: dict[str, dict[str, int]]):
        self.index = index
        self.first: dict[str, tuple] = {}  # network -> the first of its roles in the order
        self.on: dict[str, set[str]] = {}  # namespace -> the egress networks it is on
        self.empty: set[str] = set()  # egress networks nobody is on
        for role in ["back", *sorted(r for r in names if r.startswith("egress:"))]:
            if names.get(role):
                self.add(role, names[role])

    def add(self, role: str, name: str) -> None:
        key = (0, "") if role == "back" else (1, role)
        if name in self.first:
            self.first[name] = min(self.first[name], key)
            return
        self.first[name] = key
        members = self.index.get(name, {})
        for o in members:
            self.on.setdefault(o, set()).add(name)
        if not members:
            self.empty.add(name)

    def joined(self, owner: str, name: str) -> None:
        if name in self.first:
            self.on.setdefault(owner, set()).add(name)
            self.empty.discard(name)

    def fitting(self, net: str, on_net: dict[str, int], pending: set[str]) -> str | None:
        """The egress network, first in the order of its roles, whose every member is on
        ``net`` (``on_net``), other than ``net`` and not to be made internal."""
        hits: Counter[str] = Counter()
        for o in on_net:
            for name in self.on.get(o, ()):
                hits[name] += 1
        fits = [name for name, n in hits.items() if n == len(self.index.get(name, ()))]
        found = [(self.first[name], name) for name in [*fits, *self.empty] if name != net and name not in pending]
        return min(found)[1] if found else None
