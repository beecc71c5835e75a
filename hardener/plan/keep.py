"""Every dependency that shared a network before shares one afterwards.

For each dependency (strongest evidence first, so that each join is explained by its best
reason) whose two sides no longer share a network:

1. a data store on the internal data network: the other side joins it;
2. both sides re-tiered: both join the network of their shared role (data, frontend, backend);
3. one side keeps its networks: the other joins a network they shared before;
4. neither side can move: a ``dependency-cut`` finding names the pair (nothing is cut silently).

Groups ("reaches every data store") are kept through one representative member per distinct
network situation. Traefik's ``traefik.docker.network`` label stays true, and a service that
others ``extends`` shares its networks with them (Compose merges them).
"""

from __future__ import annotations

from typing import Iterator

from hardener.bitset import bits, ones, union
from hardener.evidence.model import KIND_ORDER
from hardener.plan.model import Finding
from hardener.plan.situations import Situations


class Keep:
    def shared_role(self, a: str, b: str) -> str:
        ta = {self.tiers[m].tier for m in self.members(a)}
        tb = {self.tiers[m].tier for m in self.members(b)}
        if "data" in tb:
            return self.data_role(b)
        if "data" in ta:
            return self.data_role(a)
        if "edge" in ta or "edge" in tb:
            return "front"
        return "back"

    def keep_dependencies(self) -> None:
        deps = sorted(self.a.deps.values(), key=lambda dep: (KIND_ORDER.index(dep.kind), dep.src, dep.dst))
        for dep in deps:
            self.keep(dep.src, dep.dst, dep.evidence[0], dep.alias_network)
        # A group is kept by checking one member per distinct network situation: members on the
        # same networks are kept together. Many groups share one member tuple (many services reach
        # one set of data stores): its situations are sorted out once and updated for the
        # namespaces that moved since the tuple's last turn.
        self._watchers = {}
        self._full_cache: dict[str, tuple[int, list[str]]] = {}
        tuples: dict[int, Situations] = {}
        for group in sorted(self.a.groups, key=lambda g: KIND_ORDER.index(g.kind)):
            situations = tuples.get(id(group.dsts))
            if situations is None:
                situations = tuples[id(group.dsts)] = Situations(group.dsts, self.owner, self._situation_key, self._watchers)
            else:
                situations.refresh()
            self._keep_group(group, situations)

    def _situation_key(self, b: str) -> tuple:
        """A namespace's network situation: what :meth:`_keep_group` tells representatives by."""
        return (self.nets_before(b), tuple(self.nets_after(b)), b in self.movable, self.state[b].mode)

    def _keep_group(self, group, situations: Situations) -> None:
        """Keep ``group`` through one representative per situation. A representative whose keep
        would change nothing (see :meth:`_keep_is_noop`) is skipped: which those are depends only
        on the source's own situation and the members' networks, so it is worked out once per
        (situations of the member tuple, source situation) -- thousands of proxies reaching
        thousands of services cost N + M, not N * M."""
        a = self.owner(group.src)
        memo = situations.memo
        # the situation of the source's own namespace always takes the exact path
        own = situations.of_owner(a)
        # Which representatives can need a keep, worked out once per source situation: only those
        # sharing a network with the source before (or on the host, or re-tiered as it is) can,
        # less those that share a network with it already (:meth:`_keep_is_noop` is true of the
        # rest) -- bit sets over the situations, so that a thousand proxies each meeting two
        # thousand situations do not test each pair.
        source = self._source_situation(a)
        active = memo.get(source)
        if active is None:
            sets = memo.get("bits")
            if sets is None:
                sets = memo["bits"] = self._situation_bits(situations)
            full_a = set(self.full_nets(a))
            nets_a = self.nets_before(a)
            if "<host>" in nets_a:
                mask = (1 << len(situations)) - 1
            else:
                mask = union(sets[0], nets_a) | sets[1] | (sets[2] if a in self.movable else 0)
            mask &= ~union(sets[3], full_a)
            active = memo[source] = [j for j in ones(mask)
                                     if not self._keep_is_noop(a, self.owner(situations.first(j)))]
        # A keep only adds networks, to the source's namespace and to the representative's: a
        # situation whose keep was a no-op stays one, so the list stays a superset of what is left
        # to do as the source moves, and keep() tests each representative exactly.
        for j in sorted(set(active) | ({own} if own is not None else set())):
            self._keep_situation(group, situations.members(j))

    def _situation_bits(self, situations: Situations) -> tuple:
        """The situations as bit sets (bit j for situation j), from each one's representative: by
        network before, on the host, re-tiered, and by network it is on in every file now."""
        before: dict[str, list[int]] = {}
        host: list[int] = []
        movable: list[int] = []
        after: dict[str, list[int]] = {}
        for j in range(len(situations)):
            b = self.owner(situations.first(j))
            nets_b = self.nets_before(b)
            for n in nets_b:
                before.setdefault(n, []).append(j)
            if "<host>" in nets_b:
                host.append(j)
            if b in self.movable:
                movable.append(j)
            for n in self._full_nets_now(b):
                after.setdefault(n, []).append(j)
        return ({n: bits(js) for n, js in before.items()}, bits(host), bits(movable),
                {n: bits(js) for n, js in after.items()})

    def _full_nets_now(self, b: str) -> list[str]:
        """:meth:`full_nets` of namespace ``b``, remembered until it moves: while dependencies are
        kept, only :meth:`join` and :meth:`leave` change a namespace's networks, and they count
        its moves. The situations of a member tuple change at most groups' turns (thousands of
        proxies each reaching every application), and their bit sets are made again from every
        representative; the representatives' networks are mostly where they were."""
        stamp = self.moves.get(b, 0)
        got = self._full_cache.get(b)
        if got is None or got[0] != stamp:
            got = self._full_cache[b] = (stamp, self.full_nets(b))
        return got[1]

    def _keep_situation(self, group, members: Iterator[str]) -> None:
        """Keep ``group`` through the first of ``members`` that is not its source; when that one
        moved to meet the source, the others of its situation are kept too (``members`` is read
        once: what follows the representative)."""
        rep = next((m for m in members if m != group.src), None)
        if rep is None:
            return
        moved_before = tuple(self.nets_after(self.owner(rep)))
        self.keep(group.src, rep, group.evidence)
        if tuple(self.nets_after(self.owner(rep))) != moved_before:
            # the member moved to meet the source: the others in its situation move too
            for m in members:
                if m != group.src and m != rep:
                    self.keep(group.src, m, group.evidence)

    def _source_situation(self, a: str) -> tuple:
        """Everything about a source's namespace that :meth:`_keep_is_noop` looks at."""
        return (self.state[a].mode, a in self.removed_host, self.nets_before(a), a in self.movable,
                frozenset(self.full_nets(a)))

    def _keep_is_noop(self, a: str, b: str) -> bool:
        """Would :meth:`keep` of a service of namespace ``a`` and one of namespace ``b`` (a != b)
        return at once? The same tests as its first lines, in terms of the namespaces."""
        sa, sb = self.state[a], self.state[b]
        if sa.mode in ("none", "other") or sb.mode in ("none", "other"):
            return True
        if sa.mode == "host" and a not in self.removed_host:
            return True
        if sb.mode == "host" and b not in self.removed_host:
            return True
        if not self.connected_before(a, b) and not (a in self.movable and b in self.movable):
            return True
        return self.share_full_net(a, b)

    def keep(self, src: str, dst: str, evidence: str, alias_network: str | None = None) -> None:
        """Make sure ``src`` still reaches ``dst`` if it reached it before."""
        a, b = self.owner(src), self.owner(dst)
        if a == b or self.state[a].mode in ("none", "other") or self.state[b].mode in ("none", "other"):
            return
        if self.state[a].mode == "host" and a not in self.removed_host:
            return
        if self.state[b].mode == "host" and b not in self.removed_host:
            return
        if not self.connected_before(src, dst) and not (a in self.movable and b in self.movable):
            return  # never connect what was apart, unless both are being re-tiered anyway
        if self.share_full_net(a, b):
            return
        why = (f"reaches {dst}" if a == src else f"{src} in its network namespace reaches {dst}") + f": {evidence}"
        why_b = (f"reached by {src}" if b == dst else f"{dst} in its network namespace is reached by {src}") + f": {evidence}"
        for store, other, reason in ((b, a, why), (a, b, why_b)):
            data = self.store_net(store) if self.is_store_owner(store) else None
            if data and alias_network in (None, data) and self.join(other, data, reason):
                return
        if a in self.movable and b in self.movable:
            net = self.role_name(self.shared_role(a, b))
            self.join(a, net, why)
            self.join(b, net, why_b)
            return
        # One side keeps its networks: the other joins a network they shared before -- the side
        # being re-tiered moves first, so that a data store is not pulled onto an app's network.
        sides = [(a, b, why), (b, a, why_b)]
        sides.sort(key=lambda side: side[0] not in self.movable)
        for mover, fixed, reason in sides:
            if mover not in self.target:
                continue
            before_mover = self.nets_before(mover)
            shared = [n for n in self.state[fixed].nets if n in before_mover or "<host>" in before_mover]
            shared = [n for n in shared if n in self.nets_after(fixed)]
            candidates = shared or [n for n in self.nets_after(fixed) if not n.startswith("<")]
            if alias_network in candidates and fixed == b:  # the hostname used only resolves there
                candidates = [alias_network]
            if candidates:
                pick = next((n for n in candidates if not self.external(n)), candidates[0])
                self.join(mover, pick, reason)
                return
        self.plan.findings.append(Finding(
            "dependency-cut", src,
            f"{src} reaches {dst} ({evidence}) but neither side's networks can be edited to keep them together",
            False))

    def keep_traefik_networks(self) -> None:
        proxies = [n for n, t in self.tiers.items() if "proxy-discovery" in t.flags]
        for name, label in sorted(self.a.traefik_network.items()):
            net = self.resolve_network(label)
            if net is None:
                continue
            o = self.owner(name)
            if net in self.nets_before(o) and o in self.target and net not in self.target[o]:
                self.join(o, net, f"label traefik.docker.network={label}")
            for p in proxies:
                if net in self.nets_before(p) and p in self.target and net not in self.target[self.owner(p)]:
                    self.join(p, net, f"traefik.docker.network={label} of {name}")

    def keep_extends(self) -> None:
        """Compose merges an extending service's networks with its base's: every network the
        base is planned on must be planned for each service that extends it too."""
        for name, svc in self.p.services.items():
            if name not in self.target:
                continue
            for e in svc.extended_by:
                o = self.owner(e)
                if o not in self.target:
                    continue
                for net in self.target[name]:
                    if net not in self.target[o]:
                        self.join(o, net, f"inherited from {name} through extends")

    def resolve_network(self, label: str) -> str | None:
        """The declared network a ``traefik.docker.network`` label names: by key or ``name:``
        (the first in the file), else ``default``, else the first key the label ends with after
        an underscore (``<project>_<key>``). The declared networks are indexed once: a Traefik on
        thousands of networks has a label per service."""
        index = self.__dict__.get("_network_labels")
        if index is None:
            names: dict[str, str] = {}
            for key, d in self.declared.items():
                names.setdefault(key, key)
                if isinstance(d, dict) and isinstance(d.get("name"), str):
                    names.setdefault(d["name"], key)
            index = self.__dict__["_network_labels"] = (names, {key: i for i, key in enumerate(self.declared)})
        names, order = index
        if label in names:
            return names[label]
        if label == "default" or label.endswith("_default"):
            return "default"
        suffixes = [label[i + 1:] for i, c in enumerate(label) if c == "_" and label[i + 1:] in order]
        return min(suffixes, key=order.__getitem__) if suffixes else None
