"""``network_mode: host``: kept or removed, and the ports published in its place.

Host networking is removed only when nothing says it is needed and the ports the service listens
on are known (they are published instead, so it stays reachable). It is kept -- and reported --
when a comment or ``x-compose-harden`` documents a reason, when the image needs the host's network,
when the evidence shows a need (a ``localhost`` upstream, managing the host's network, a client
whose targets may be on the host: :mod:`hardener.evidence.hostnet`), when the ports it listens on
cannot be determined, or when its keys cannot be edited.
"""

from __future__ import annotations

from hardener import ports as portspec
from hardener.compose import untag
from hardener.hostmode import already_published, covered, discover_ports, port_entry
from hardener.plan.model import Finding
from hardener.plan.state import host_justification

_ADVICE = "document it with '# compose-harden: allow host-network -- <reason>'"


class HostMode:
    def discovered(self, name: str):
        cache = self.__dict__.setdefault("_discovered", {})
        if name not in cache:
            cache[name] = discover_ports(self.p.services[name].data, self.tiers[name], self.p.env)
        return cache[name]

    def host_mode(self) -> None:
        for name, st in self.state.items():
            if st.mode != "host":
                continue
            tier = self.tiers[name]
            just = host_justification(self.p.services[name])
            if just.justified:
                self.plan.notes.append(f"{name}: network_mode: host kept, justified by {just.where}: {just.reason}")
                continue
            if just.marker_without_reason:
                self.plan.findings.append(Finding(
                    "host-network-reason", name,
                    "network_mode: host is marked allowed but gives no reason: write "
                    "'# compose-harden: allow host-network -- <reason>'", False))
                continue
            if "host-network" in tier.flags:
                note = tier.info.note if tier.info else ""
                self.plan.findings.append(Finding(
                    "host-network-required", name,
                    f"network_mode: host kept: image {tier.image} needs the host's network ({note}); {_ADVICE}", False))
                continue
            reason = self.a.host_reasons.get(name)
            if reason:
                rule, why = reason
                advice = {
                    "host-network-localhost": "point it at a service name or publish the port, or " + _ADVICE,
                    "host-network-required": _ADVICE,
                    "host-network-client": _ADVICE,
                }[rule]
                self.plan.findings.append(Finding(rule, name, f"network_mode: host kept: {why}; {advice}", False))
                continue
            if not st.editable:
                self.plan.findings.append(Finding(
                    "host-network", name, f"network_mode: host not removed: {st.why_fixed}", False))
                continue
            if not self.discovered(name).ports and not already_published(self.p.services[name].data):
                self.plan.findings.append(Finding(
                    "host-ports-unknown", name,
                    "network_mode: host kept: the ports it listens on could not be determined (no expose, "
                    "listen flag, PORT variable or image default); list them under expose: to let the tool "
                    "publish them, or " + _ADVICE, False))
                continue
            self.removed_host.add(name)
        self.keep_host_peers()

    def keep_host_peers(self) -> None:
        """Services on the host's network reach each other through the host (localhost, the
        host's address): one that leaves while a peer it is linked to stays would lose it."""
        staying = {n for n, st in self.state.items() if st.mode == "host" and n not in self.removed_host}
        changed = True
        while changed and staying:
            changed = False
            for name in sorted(self.removed_host):
                peer = next((k for k in sorted(staying) if self.linked(name, k)), None)
                if peer is None:
                    continue
                self.removed_host.discard(name)
                staying.add(name)
                changed = True
                self.plan.findings.append(Finding(
                    "host-network-localhost", name,
                    f"network_mode: host kept: it is linked to {peer}, which stays on the host's network "
                    "(they reach each other through the host); " + _ADVICE, False))

    def taken_host_ports(self) -> set[tuple[int, str]]:
        """Host ports in use: published by services, or listened on by services kept on the host's network."""
        taken = self.__dict__.get("_taken")
        if taken is None:
            taken = self.__dict__["_taken"] = set()
            for name, svc in self.p.services.items():
                if name in self.removed_host:
                    continue
                if self.state[name].mode == "host":
                    for p in self.discovered(name).numbers():
                        taken.update((n, p.protocol) for n in range(p.number, (p.last or p.number) + 1))
                    continue
                for spec in portspec.specs(svc.data.get("ports")):
                    taken.update((n, spec.protocol) for n in spec.host_numbers())
        return taken

    def assign_host_ports(self) -> None:
        """Decide, before anything else, which ports each service leaving the host's network will
        publish: whether it publishes decides whether it needs a way out."""
        for name in self.p.services:
            if name in self.removed_host:
                self.publish_host_ports(name, self.p.services[name].data)

    def publish_host_ports(self, name: str, data: dict) -> None:
        """A service leaving the host's network keeps its ports reachable by publishing them."""
        found = self.discovered(name)
        have = already_published(data)
        taken = self.taken_host_ports()
        cur = untag(data.get("ports")) if "ports" in data else []
        long_form = any(isinstance(untag(x), dict) for x in cur or [])
        new, where = [], []
        for p, w in found.ports:
            if covered(p, have):
                continue
            span = {(n, p.protocol) for n in range(p.number, (p.last or p.number) + 1)}
            if span & taken:
                self.plan.findings.append(Finding(
                    "host-port-conflict", name,
                    f"port {p} ({w}) is already used on the host by another service: not published; "
                    "publish it on another host port", False))
                continue
            taken |= span
            new.append(port_entry(p, long_form))
            where.append(f"{port_entry(p)} from {w}")
        if new:
            self.host_ports[name] = list(cur or []) + new
            self.ports_why[name] = f"publishes {'; '.join(where)} (was reachable on the host's network)"
        self.plan.findings.append(Finding(
            "host-network", name, "network_mode: host removed (no justification comment)", True))
