"""Tier networks for services that have no networks of their own to keep: those on the implicit
``default`` network, on Docker's legacy bridge (``network_mode: bridge``), or leaving
``network_mode: host``.

Each joins the networks of its tier: ``frontend`` (edge services), ``backend`` (application
services: their way out) and ``data`` (data stores, internal); dependencies then add the networks
that keep every connection (:mod:`hardener.plan.keep`). A tier that is a guess never confines a
service: a guessed edge also keeps the application network, a guessed data store keeps a way out.
The split is made only when it protects a data store the image table knows: a stack of proxies and
applications alone stays as it is. A service that routing labels or ``VIRTUAL_HOST`` show a proxy
from outside the project routes to keeps the default network, where that proxy can meet it
(``proxy-outside-project``), unless a ``traefik.docker.network`` label names another of its networks.
"""

from __future__ import annotations

from hardener.compose import find_key


class Tiers:
    def choose_movable(self) -> None:
        from hardener.plan.model import Finding

        self.outside_notes: list[Finding] = []  # proxy-outside-project: reported if the plan changes anything

        for name, st in self.state.items():
            if st.mode == "bridge" and st.editable and self.owner(name) == name and self.routed_from_outside(name):
                st.editable = False  # a proxy from elsewhere may meet it only on Docker's bridge
                st.why_fixed = "a proxy from outside the project routes to it (proxy-outside-project)"
        for name, st in self.state.items():
            if st.mode == "bridge" and not st.editable:
                self.plan.findings.append(Finding(
                    "legacy-bridge", name, f"network_mode: bridge (Docker's legacy bridge) not replaced: {st.why_fixed}", False))
        plain_default = self.default_is_plain()
        for name, st in self.state.items():
            if self.owner(name) != name:
                continue
            if name in self.removed_host or (st.mode == "bridge" and st.editable):
                self.movable.add(name)
                self.target[name] = []
            elif st.mode == "default" and st.editable:
                if plain_default and not self.routed_from_outside(name):
                    self.movable.add(name)
                    self.target[name] = []
                else:
                    self.target[name] = ["default"]  # a declared default: it stays, networks may be added
            elif st.mode == "nets" and st.editable:
                keep = list(st.nets)
                if plain_default and "default" in keep and "default" not in st.attrs \
                        and not self.routed_from_outside(name):
                    keep.remove("default")
                    self.movable.add(name)
                self.target[name] = keep

    def routed_from_outside(self, owner: str) -> bool:
        """Does a proxy from outside the project route to a service of this network namespace, on
        a network not named by a ``traefik.docker.network`` label (so possibly the default
        network)? Reported as ``proxy-outside-project`` when it is."""
        from hardener.plan.model import Finding

        found = False
        for m in self.members(owner):
            why = self.a.outside_proxy.get(m)
            if why is None or self.label_network(m) not in (None, "default"):
                continue  # the proxy meets it on the network the label names, which it keeps
            found = True
            where = "Docker's bridge" if self.state[owner].mode == "bridge" else "the default network"
            self.outside_notes.append(Finding(
                "proxy-outside-project", m,
                f"{m} is {why}, but no proxy of the project reads that: one from another compose file or "
                f"project may route to it on {where}, which it keeps. Harden it with the proxy's compose file "
                "(-f compose.yaml -f proxy.yaml), or name the proxy's network with the label "
                "traefik.docker.network", False))
        return found

    def tier_nets_for(self, owner: str) -> list[tuple[str, str]]:
        """(role, why) tier networks a movable service (with its namespace members) joins."""
        out: list[tuple[str, str]] = []
        for m in self.members(owner):
            t = self.tiers[m]
            who = "" if m == owner else f" of {m} in its network namespace"
            if t.tier == "edge":
                out.append(("front", f"edge{who}"))
                if t.guessed:
                    out.append(("back", f"its tier is a guess ({t.evidence}){who}: it keeps the application network"))
            elif t.tier == "app":
                out.append(("back", f"app service{who}: its way out"))
            else:
                out.append((self.data_role(owner), f"data store{who}"))
                why = self.store_way_out(m)
                if why:
                    out.append((f"own:{m}" if self.private_way_out(m) else "back", f"{why}{who}"))
        return out

    def separates(self) -> bool:
        """Would tier networks protect a data store the image table knows -- one being re-tiered,
        or one a re-tiered service reaches (on default, it would pull the store onto default)?"""
        known = {self.owner(n) for n, t in self.tiers.items() if t.tier == "data" and not t.guessed}
        if not known:
            return False
        if known & self.movable:
            return True
        return any(self.reaches_any(o, known) for o in self.movable)

    def decide_tiers(self) -> None:
        """Leave the re-tierable services on default when tiering would protect nothing."""
        if not self.movable or self.separates():
            return
        for o in self.movable:
            st = self.state[o]
            if st.mode == "nets":
                self.target[o] = list(st.nets)  # unchanged
            else:
                self.target[o] = ["default"]
                if st.mode in ("bridge", "host"):
                    self.why[o]["default"] = "the project's own network: name resolution, no data store to separate"
        self.movable.clear()

    def assign_tiers(self) -> None:
        order = {n: i for i, n in enumerate(self.p.services)}
        for o in sorted(self.movable, key=order.__getitem__):
            for role, why in self.tier_nets_for(o):
                self.join(o, self.role_name(role), why)
                if why.startswith("publishes ports") and self.ports_only_in_later_file(o):
                    # goes with the ports, into the file that publishes them (e.g. a dev override)
                    self.placement.setdefault(o, {})[self.role_name(role)] = "ports"

    def ports_only_in_later_file(self, name: str) -> bool:
        defs = self.p.services[name].defs
        holders = [d for d in defs if find_key(d.node, "ports") is not None]
        return bool(holders) and defs[0] not in holders
