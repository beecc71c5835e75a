"""The planner: the steps in order, and the final value of every service's network keys."""

from __future__ import annotations

from hardener.compose import untag
from hardener.plan.core import Core
from hardener.plan.flat import Flat
from hardener.plan.gateway import Gateway
from hardener.plan.hostmode import HostMode
from hardener.plan.internal import Internal
from hardener.plan.keep import Keep
from hardener.plan.model import ABSENT, NETWORK_KEYS, Finding, Plan, ServicePlan
from hardener.plan.reports import Reports
from hardener.plan.tiers import Tiers


class Planner(Core, HostMode, Tiers, Flat, Keep, Internal, Gateway, Reports):
    def run(self) -> Plan:
        self.freeze_unresolved_neighbours()
        self.host_mode()
        self.assign_host_ports()
        self.choose_movable()
        self.decide_tiers()
        self.plan_flat_splits()
        self.group_stores([o for o in self.p.services if self.owner(o) == o and self.is_store_owner(o)
                           and (o in self.movable or o in self.split)])
        self.assign_tiers()
        self.apply_flat_splits()
        self.keep_all()
        self.plan_flat_splits()  # a network that services joined while keeping dependencies may be flat now
        if self.split_plan:
            self.group_stores([s for s, _, _ in self.split_plan])
            self.apply_flat_splits()
            self.keep_all()
        self.mark_internal()
        self.keep_extends()
        self.plan_gateway()
        self.report_routing()
        self.report_sharing()
        self.build_service_plans()
        if self.plan.changed:  # otherwise nothing was kept for an outside proxy's sake
            self.plan.findings.extend(self.outside_notes)
        assumed = [s for s in self.p.services
                   if s in self.a.assumed and self.owner(s) in self.target and self.changed_reach(s)]
        self.plan.assumed_reach = self.assumed_reach(assumed)
        # reach it was not left with is not kept: such a service is not reported as keeping any
        self.plan.assumed = {s: self.a.assumed[s] for s in assumed if any(d != s for d in self.plan.assumed_reach[s])}
        return self.plan

    def assumed_reach(self, services: list[str]) -> dict[str, tuple[str, ...]]:
        """service -> the services of its assumed groups it shares a network with once planned
        (the reach that keeping them kept: what it could reach before, or was given with a
        re-tiered peer), in the groups' order. Each group's members are indexed once by their
        planned networks; a service's answer depends only on which of those networks it is on,
        so thousands of services share a few answers (and the resulting tuple), and a service
        costs its own networks, not the whole group."""
        index: dict[int, tuple[dict[str, list[str]], dict[str, int]]] = {}
        memo: dict[tuple, tuple[str, ...]] = {}
        out: dict[str, tuple[str, ...]] = {}
        for s in services:
            groups = [g.dsts for g in self.a.groups_by_src.get(s, []) if g.kind == "assumed"]
            mine = self.nets_after(s)
            entries = []
            for dsts in groups:
                entry = index.get(id(dsts))
                if entry is None:
                    on: dict[str, list[str]] = {}
                    for d in dsts:
                        for n in self.nets_after(d):
                            on.setdefault(n, []).append(d)
                    entry = index[id(dsts)] = (on, {d: i for i, d in reversed(list(enumerate(dsts)))})
                entries.append((id(dsts), entry, frozenset(n for n in mine if n in entry[0])))
            key = tuple((i, shared) for i, _, shared in entries)
            got = memo.get(key)
            if got is None:
                found: list[str] = []
                for _, (on, position), shared in entries:
                    reached = set().union(*(on[n] for n in shared))
                    found += sorted(reached, key=position.__getitem__)
                got = memo[key] = tuple(dict.fromkeys(found))
            out[s] = got
        return out

    def keep_all(self) -> None:
        self.keep_dependencies()
        self.keep_traefik_networks()
        self.keep_extends()

    def changed_reach(self, name: str) -> bool:
        """Was the service's network placement decided by this plan (so the kept reach matters)?"""
        o = self.owner(name)
        return o in self.movable or self.target.get(o) != self.state[o].nets or bool(self.split)

    def build_service_plans(self) -> None:
        order = {n: i for i, n in enumerate(self.p.services)}
        for name in sorted(self.movable, key=order.__getitem__):
            kept = [n for n in self.target[name] if n in self.state[name].nets]
            new = sorted((n for n in self.target[name] if n not in kept), key=lambda n: (self.rank(n), n))
            self.target[name] = kept + new
        for name, svc in self.p.services.items():
            data = svc.data
            before = {k: (untag(data[k]) if k in data else ABSENT) for k in NETWORK_KEYS}
            after = dict(before)
            st = self.state[name]
            if name in self.target:
                final = self.target[name]
                if final == ["default"] and st.mode != "nets":
                    after["networks"] = ABSENT
                elif st.mode == "nets" and final == st.nets:
                    pass
                elif st.mode == "nets" and st.form == "dict":
                    cur = untag(data.get("networks")) or {}
                    after["networks"] = {
                        **{k: v for k, v in cur.items() if str(k) in final},
                        **{n: None for n in final if n not in {str(k) for k in cur}},
                    }
                elif st.mode == "nets":
                    # items as written (an interpolated "${NET:-back}" stays as it is)
                    kept = [raw for raw, res in zip(st.raw, st.nets) if res in final]
                    kept_names = {res for res in st.nets if res in final}
                    after["networks"] = kept + [n for n in final if n not in kept_names]
                else:
                    after["networks"] = list(final) if final else ABSENT
                if st.mode in ("bridge", "host") and name in self.target:
                    after["network_mode"] = ABSENT
            if name in self.host_ports:
                after["ports"] = self.host_ports[name]
            sp = ServicePlan(name, self.tiers[name], before, after, self.why[name], self.ports_why.get(name),
                             self.placement.get(name, {}), self.env_plans.get(name, {}))
            if sp.changed_keys:
                if st.mode == "bridge":
                    self.plan.findings.append(Finding(
                        "legacy-bridge", name, "network_mode: bridge (Docker's legacy default bridge) replaced", True))
                elif name in self.movable and (st.mode == "default" or (st.mode == "nets" and "default" in st.nets)):
                    self.plan.findings.append(Finding(
                        "flat-network", name, "moved from the flat default network to tier networks", True))
            self.plan.services[name] = sp
        self.report_traefik_ambiguity()
        self.write_out_merged_defaults()
        for net, np_ in self.plan.networks.items():
            if np_.set_internal:
                self.plan.findings.append(Finding(
                    "data-egress", None, f"network {net} marked internal: true ({np_.reason})", True))
