"""Declared networks that are flat under another name.

Most stacks that declare networks declare one and put every service on it (``app-network``,
``<project>-net``, a ``backend`` that holds the proxy and the databases alike), or only give the
default network a name (``networks: {default: {name: shop}}``). A declared network carrying data
stores together with services that do not use them is split with the smallest diff: the network
keeps its name and its role as the front/application network, and only the data stores leave it,
for the internal ``data`` network that their clients join.

A data store that needs a way out (it publishes ports, calls out of the stack) also gets a network
of its own for that. It stays where it is -- and the network is reported as ``flat-network`` with
the reason -- when it pins a fixed address there (``ipv4_address``: services and configs refer to
it), has a tier that is only a guess, cannot be edited, or is routed by a discovery proxy that is
not in the project (its labels or ``VIRTUAL_HOST`` say so: the proxy may meet it there).

A network other projects attach to -- one with an explicit ``name:``, or an externally managed
one (``external: true``) -- is never changed itself and never made internal: its data stores
leave it instead, when their clients in this project can follow them. A data store alone there
with no client in this project is left, since it may serve those other projects. A network whose
members all use its data stores is not split: it is made internal instead (see
:mod:`hardener.plan.internal`).
"""

from __future__ import annotations

from hardener.plan.model import Finding
from hardener.plan.state import pinned
from hardener.show import names


class Flat:
    def flat_candidates(self) -> list[str]:
        nets = [n for n in self.declared if not (n == "default" and self.default_is_plain())]
        return [n for n in nets if not self.already_internal(n)]

    def report_fixed_addressing(self, net: str, stores: list[str], others: list[str], what: str) -> None:
        why = self.fixed_addressing(net)
        self.flat_finding(net, Finding(
            "flat-network", stores[0],
            f"network {net} carries data stores {names(stores)} together with {what} {names(others)}, but it "
            f"has {why}: it is neither split nor made internal. Moving the data stores to an internal network "
            f"would separate them from {names(others)} and seal them off from the outside", False))

    def plan_flat_splits(self) -> None:
        """Decide which data stores leave which flat networks (applied by :meth:`apply_flat_splits`,
        once the data networks are known). Run again after the dependencies are kept: a service
        that joined a network then (a host-mode service leaving the host) can make it flat; only
        networks whose members changed are looked at again."""
        self.split_plan: list[tuple[str, str, str]] = []  # (store, network, why)
        seen = self.__dict__.setdefault("_flat_seen", {})
        for net in self.flat_candidates():
            members = self.members_of(net)
            key = frozenset(members)
            if seen.get(net) == key:
                continue
            seen[net] = key
            for f in self.__dict__.setdefault("_flat_findings", {}).pop(net, []):
                if f in self.plan.findings:
                    self.plan.findings.remove(f)
            stores = [o for o in members if self.is_store_owner(o)]
            if not stores:
                continue
            store_set = set(stores)
            others = [o for o in members if o not in store_set]
            fixed = self.fixed_name(net) or ("an external network" if self.external(net) else None)
            clients = [o for o in others if self.reaches_any(o, store_set)]
            client_set = set(clients)
            non_clients = [o for o in others if o not in client_set]
            if self.fixed_addressing(net):
                edges = [o for o in others if any(self.tiers[m].tier == "edge" for m in self.members(o))]
                if non_clients:
                    self.report_fixed_addressing(net, stores, non_clients, "services that do not use them:")
                elif edges:
                    self.report_fixed_addressing(net, stores, edges, "edge services")
                continue  # not split (made internal only when no address is pinned: see internal)
            if not fixed and len(clients) == len(others):
                continue  # every member uses its data stores: a data network, made internal later
            if fixed and not clients:
                continue  # a data store alone on a network other projects attach to: it may serve them
            movers, stuck = [], []
            for s in stores:
                why = self.cannot_leave(s, net)
                (stuck if why else movers).append((s, why))
            shared = f" ({'name: ' + fixed if not self.external(net) else 'external'})" if fixed else ""
            what = (f"network {net}{shared} carries data stores {names(stores)} together with "
                    f"{names(non_clients) if non_clients else 'services'} that do not use them"
                    if non_clients else f"network {net}{shared} carries data stores {names(stores)}")
            if movers:
                for s, _ in movers:
                    self.split_plan.append((s, net, f"data store, moved off {net}: {what.split(' carries')[0]} is flat"))
                    self.split[s] = net
                self.flat_finding(net, Finding(
                    "flat-network", None,
                    f"{what}: {names([s for s, _ in movers])} moved to an internal data network; "
                    f"their clients join it" + (f"; {net} itself is not changed (other projects attach to it)" if fixed else ""),
                    True))
            for s, why in stuck:
                self.flat_finding(net, Finding(
                    "flat-network", s,
                    f"{what}: data store {s} stays on {net}: {why}; moving it to an internal data network would "
                    f"separate it from {names(non_clients) if non_clients else 'the other services'}",
                    False))

    def flat_finding(self, net: str, finding: Finding) -> None:
        self.plan.findings.append(finding)
        self.__dict__.setdefault("_flat_findings", {}).setdefault(net, []).append(finding)

    def apply_flat_splits(self) -> None:
        for s, net, why in self.split_plan:
            self.leave(s, net)
            self.join(s, self.role_name(self.data_role(s)), why)
            for m in self.members(s):
                if self.private_way_out(m):
                    self.join(s, self.role_name(f"own:{m}"), f"{self.store_way_out(m)}: a way out of its own")

    def cannot_leave(self, store: str, net: str) -> str | None:
        """Why a data store must stay on a flat network (None when it can move to the data network)."""
        st = self.state[store]
        if store not in self.target or not st.editable:
            return f"its networks cannot be edited ({st.why_fixed or 'not editable'})"
        pin = pinned(st, net)
        if pin:
            return f"it has a fixed address there ({pin}) that services and configs may refer to"
        for m in self.members(store):
            if self.store_way_out(m) and not self.private_way_out(m):
                return self.store_way_out(m)
        for m in self.members(store):
            why = self.a.outside_proxy.get(m)
            if why and self.label_network(m) in (None, net):
                return (f"{m} is {why} and no proxy of the project reads that: one from elsewhere may "
                        f"reach it on {net} (proxy-outside-project)")
        return None
