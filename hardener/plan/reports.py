"""Findings about the planned result that need a human: edge services left sharing a network with
data stores, data stores that keep a way out and why, data stores in another container's network
namespace, proxies whose routing could not be read, Traefik routing ambiguity."""

from __future__ import annotations

from hardener import ports as portspec
from hardener.plan.model import ABSENT, Finding
from hardener.plan.state import provider_network
from hardener.show import NAMES_SHOWN, flow, names

# Beside more data stores than this, an edge's unlinked stores are found through an index of the
# stores' dependencies (unlinked_many) instead of one test per store.
MANY_STORES = 64


class Reports:
    def report_routing(self) -> None:
        for name in sorted(self.a.routing):
            routing = self.a.routing[name]
            t = self.tiers[name]
            if routing.known or t.guessed:
                continue
            self.plan.findings.append(Finding(
                "proxy-routing-unknown", name,
                f"the routes of {name} ({t.image or 'built from source'}) could not be read: {routing.why}; it keeps "
                "its reach to every service it could route to. Mount its configuration from the project, or list "
                "its upstreams with x-compose-harden: {talks-to: [...]}", False))

    def report_sharing(self) -> None:
        internal = self.internal
        nets: dict[str, list[str]] = {}
        for o in self.p.services:
            if self.owner(o) != o or self.state[o].mode in ("none", "other", "host") and o not in self.removed_host:
                continue
            for n in self.nets_after(o):
                nets.setdefault(n, []).append(o)
        reported: set[str] = set()
        for net in sorted(nets):
            owners = nets[net]
            if net.startswith("<"):
                continue  # Docker's legacy bridge / the host: reported as legacy-bridge / host-network
            edges = [m for o in owners for m in self.members(o) if self.tiers[m].tier == "edge"]
            if not edges:
                continue
            store_owners = {o for o in owners if any(self.is_data_store(m) for m in self.members(o))}
            if not store_owners:
                continue
            ordered = sorted(store_owners)
            memo: dict[int, set[str]] = {}  # member tuple -> its stores on this network
            for e in edges:
                if e in reported:
                    continue
                if len(store_owners) <= MANY_STORES or self.owner(e) in store_owners:
                    # a few stores, or the edge's own namespace holds one: one test per store
                    unlinked = [s for s in ordered if not self.reaches_any(self.owner(e), {s})]
                    shown, count = unlinked[:NAMES_SHOWN], len(unlinked)
                else:
                    shown, count = self.unlinked_many(e, store_owners, ordered, memo)
                if count:
                    reported.add(e)
                    self.plan.findings.append(Finding(
                        "edge-shares-data", e,
                        f"edge service {e} shares network {net} with data store {names(shown, total=count)} and nothing "
                        "says it reaches it" + (" (externally managed network: not edited)" if self.external(net) else ""),
                        False))
        about: set[str] = {f.service for f in self.plan.findings if f.service}
        for o in self.p.services:
            if self.owner(o) != o:
                continue
            stores = [m for m in self.members(o) if self.is_data_store(m)]
            if not stores or self.state[o].mode in ("none",):
                continue
            others = [m for m in self.members(o) if not self.is_data_store(m)]
            if others:
                where = "its network namespace" if stores[0] == o else f"the network namespace of {o}"
                self.plan.findings.append(Finding(
                    "data-in-shared-namespace", stores[0],
                    f"data store {stores[0]} shares {where} with {names(m for m in others if m != stores[0])}: "
                    "it cannot be isolated from their outbound access", False))
                continue
            if self.state[o].mode in ("host", "other") and o not in self.removed_host:
                continue
            way_out = [n for n in self.nets_after(o) if n not in internal and not n.startswith("<")]
            published = [m for m in stores if self.publishes(m)]
            if published:
                specs = portspec.specs(self.host_ports.get(published[0]) or self.p.services[published[0]].data.get("ports"))
                ports = ", ".join(flow(x.raw) for x in specs)
                loopback = all((x.published or "").startswith(("127.", "[::1]", "::1")) for x in specs)
                advice = ("drop the ports if only other services use it" if loopback
                          else "bind it to 127.0.0.1, or drop the ports if only other services use it")
                self.plan.findings.append(Finding(
                    "data-published-port", published[0],
                    f"data store publishes {ports}: it keeps a network with outbound access"
                    f"{' (' + ', '.join(way_out) + ')' if way_out else ''}, because Docker publishes no ports of "
                    f"containers whose only networks are internal; {advice}", False))
                continue
            if any(self.wants_egress_option(m) for m in stores):
                continue
            calls = [(m, self.a.outbound[m]) for m in stores if self.a.outbound.get(m)]
            if calls and way_out:
                m, evidence = calls[0]
                self.plan.findings.append(Finding(
                    "data-egress", m,
                    f"data store {m} keeps outbound access through {', '.join(way_out)}: {'; '.join(evidence[:2])}",
                    False))
                continue
            guessed = [m for m in stores if self.tiers[m].guessed]
            if guessed and way_out:
                continue  # a guessed tier keeps its way out by design (the summary marks it guessed)
            if way_out and o not in about:
                if any(self.external(n) for n in way_out):
                    why = " (externally managed: never edited)"
                elif not self.state[o].editable and self.state[o].why_fixed:
                    why = f" (not edited: {self.state[o].why_fixed})"
                elif any(self.fixed_name(n) for n in way_out):
                    why = " (a network with a fixed name other projects may attach to)"
                else:
                    why = " (a service that reaches it there cannot be moved)"
                self.plan.findings.append(Finding(
                    "data-egress", o, f"data store {o} keeps outbound access through {', '.join(way_out)}{why}", False))

    def unlinked_many(self, edge: str, store_owners: set[str], ordered: list[str],
                      memo: dict[int, set[str]]) -> tuple[list[str], int]:
        """The first data stores (owners, in ``ordered``) nothing links to ``edge`` in the edge's
        dependencies or theirs, and how many there are. What the data stores reach is indexed
        once, a group's members on the network are gathered once per member tuple, and only the
        stores named in the message are listed, so that a thousand edges beside two thousand
        stores cost their own dependencies, not one check per (edge, store)."""
        mine = set(self.members(self.owner(edge)))  # (the owner holds no data store: see report_sharing)
        linked: set[str] = set()
        for m in mine:
            linked.update(x for x in (self.owner(d.dst) for d in self.a.of(m)) if x in store_owners)
            for g in self.a.groups_by_src.get(m, []):
                stores = memo.get(id(g.dsts))
                if stores is None:  # once per member tuple: the stores of one network, for each of its edges
                    stores = memo[id(g.dsts)] = {x for x in (self.owner(d) for d in g.dsts) if x in store_owners}
                if len(stores) == len(store_owners):
                    return [], 0
                linked |= stores
        reached, groups = self._store_reach()
        for x in mine:
            linked.update(s for s in reached.get(x, ()) if s in store_owners)
        for s, m, dsts in groups:
            if s in store_owners and s not in linked and any(x in dsts and x != m for x in mine):
                linked.add(s)
        shown = []
        for s in ordered:
            if len(shown) == NAMES_SHOWN:
                break
            if s not in linked:
                shown.append(s)
        return shown, len(store_owners) - len(linked)

    def _store_reach(self) -> tuple[dict[str, set[str]], list[tuple[str, str, set[str]]]]:
        """service -> the namespaces holding a data store that reach it, and the groups of
        services in such namespaces as (owner, source, members)."""
        got = self.__dict__.get("_store_reach_index")
        if got is None:
            reached: dict[str, set[str]] = {}
            groups: list[tuple[str, str, set[str]]] = []
            for s in self.p.services:
                if self.owner(s) != s or not any(self.is_data_store(m) for m in self.members(s)):
                    continue
                for m in self.members(s):
                    for d in self.a.of(m):
                        reached.setdefault(d.dst, set()).add(s)
                    for g in self.a.groups_by_src.get(m, []):
                        groups.append((s, m, self.dst_set(g)))
            got = self.__dict__["_store_reach_index"] = (reached, groups)
        return got

    def write_out_merged_defaults(self) -> None:
        """A service that merges another's definition (``<<: *netbox``) inherits the ``networks``
        the plan gives that one; where it should stay on default, default is written out."""
        for name, sp in self.plan.services.items():
            if "networks" not in sp.changed_keys or sp.before["networks"] is not ABSENT:
                continue
            for d in self.p.services[name].defs:
                for user in d.file.merge_users(d.node):
                    usp = self.plan.services.get(user)
                    if usp is None or "networks" in usp.changed_keys or usp.before["networks"] is not ABSENT:
                        continue
                    usp.after["networks"] = ["default"]
                    usp.why["default"] = f"written out: it merges {name}, which now lists its networks"

    def report_traefik_ambiguity(self) -> None:
        """Traefik picks one of a container's networks at random when it is on several and
        nothing names the one to use (traefik.docker.network / --providers.docker.network)."""
        for key in sorted(k for k, d in self.a.deps.items() if d.kind == "proxy"):
            dep = self.a.deps[key]
            proxy = self.tiers.get(dep.src)
            if proxy is None or (proxy.info and proxy.info.key != "traefik"):
                continue
            sp = self.plan.services.get(dep.dst)
            if sp is None or dep.dst in self.a.traefik_network:
                continue
            nets = sp.after["networks"]
            nn = list(nets) if isinstance(nets, dict) else [str(n) for n in nets] if isinstance(nets, list) else []
            if len(nn) < 2 or provider_network(self.p.services[dep.src].data):
                continue
            shared = [n for n in nn if n in self.nets_after(self.owner(dep.src))]
            self.plan.findings.append(Finding(
                "traefik-network", dep.dst,
                f"{dep.dst} is routed by {dep.src} and sits on {', '.join(nn)}: Traefik may pick the wrong "
                f"one; add the label traefik.docker.network=<project>_{shared[0] if shared else nn[0]} "
                "(or --providers.docker.network on Traefik)", False))
