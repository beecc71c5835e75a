"""Plan the remediation: which networks every service ends up on, and why.

The plan is pure data: for each service it changes, the final value of ``networks``,
``network_mode`` and ``ports``; for the top-level ``networks``, the definitions to create and the
networks to mark ``internal: true``; and the findings that need a human. The editor realises it in
the files and the verifier checks that the files say exactly this afterwards.

Rules (see README "How compose-harden decides"):

* Services on the implicit ``default`` network, on Docker's legacy bridge (``network_mode:
  bridge``) or losing an unjustified ``network_mode: host`` get tier networks: ``frontend`` (edge
  services and the app services they reach), ``backend`` (app services: their way out) and
  ``data`` (data stores and their clients, ``internal: true``). Networks a service already lists
  stay. When tiering would not separate anything the services simply stay on ``default``.
* Every dependency that shared a network before shares one afterwards.
* A declared network carrying a data store is marked ``internal: true`` when nobody loses
  anything: a member that needs a way out and has no other one first joins an egress network.
  Externally managed networks are never edited and services keep them.
* A data store that publishes ports keeps a non-internal network (Docker does not publish ports
  of containers whose only networks are internal) and is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hardener import ports as portspec
from hardener.classify import Tier, service_options
from hardener.compose import Project, Service, as_mapping, command_texts, find_key, untag
from hardener.deps import Analysis
from hardener.hostmode import (
    Justification,
    already_published,
    covered,
    comment_justification,
    discover_ports,
    localhost_references,
    option_justification,
    port_entry,
)


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()

FRONT, BACK, DATA = "frontend", "backend", "data"
NETWORK_KEYS = ("networks", "network_mode", "ports")
RESERVED = frozenset({"default", "host", "bridge", "none"})


@dataclass
class Finding:
    rule: str
    service: str | None
    message: str
    fixed: bool

    def as_dict(self) -> dict:
        return {"rule": self.rule, "service": self.service, "message": self.message, "fixed": self.fixed}


@dataclass
class ServicePlan:
    name: str
    tier: Tier
    before: dict[str, Any]  # current effective values of NETWORK_KEYS (ABSENT when unset)
    after: dict[str, Any]  # planned values
    why: dict[str, str] = field(default_factory=dict)  # network -> why the service is on it
    ports_why: str | None = None  # why ports are published (leaving host mode)
    placement: dict[str, str] = field(default_factory=dict)  # network -> key whose file should list it

    @property
    def changed_keys(self) -> list[str]:
        return [k for k in NETWORK_KEYS if not _same(self.before.get(k, ABSENT), self.after.get(k, ABSENT))]


@dataclass
class NetworkPlan:
    name: str
    create: bool = False
    definition: Any = None  # for created networks
    set_internal: bool = False
    reason: str = ""


@dataclass
class Plan:
    project: Project
    analysis: Analysis
    services: dict[str, ServicePlan] = field(default_factory=dict)
    networks: dict[str, NetworkPlan] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    assumed: dict[str, str] = field(default_factory=dict)  # built services given data access on no evidence

    @property
    def changed(self) -> bool:
        return any(sp.changed_keys for sp in self.services.values()) or bool(self.networks)

    def changed_services(self) -> list[ServicePlan]:
        return [sp for sp in self.services.values() if sp.changed_keys]

    def final_networks(self) -> dict[str, Any]:
        """The top-level ``networks`` mapping the project should have afterwards."""
        out = {k: v for k, v in self.project.networks.items()}
        for name, np_ in self.networks.items():
            if np_.create:
                out[name] = np_.definition
            elif np_.set_internal:
                cur = untag(out.get(name))
                merged = dict(cur) if isinstance(cur, dict) else {}
                merged["internal"] = True
                out[name] = merged
        return out


def _same(a: Any, b: Any) -> bool:
    if a is ABSENT or b is ABSENT:
        return a is b
    return a == b


# --- the current state of each service ----------------------------------------------------------


@dataclass
class State:
    mode: str  # default | nets | bridge | host | none | namespace | other
    nets: list[str]  # networks it is on now (explicit or "default")
    form: str | None = None  # "list" | "dict" for an explicit networks key
    attrs: dict[str, Any] = field(default_factory=dict)  # per-network settings (aliases, ipv4_address...)
    editable: bool = True
    why_fixed: str = ""


def _networks_value(data: dict) -> Any:
    return untag(data["networks"]) if "networks" in data else ABSENT


def current_state(svc: Service, extenders: dict[str, dict[str, str]] | None = None,
                  modes: dict[str, dict] | None = None) -> State:
    """How the service is networked now, and whether its network keys may be edited.
    ``extenders``: service -> the keys it inherits through extends (from Service.inherited);
    ``modes``: service -> its data (to see who has a network_mode)."""
    extenders = extenders or {}
    data = svc.data
    editable = svc.editable and not ({"networks", "network_mode"} & set(svc.inherited))
    why = svc.readonly_reason or (
        f"its network settings come from {svc.inherited.get('networks') or svc.inherited.get('network_mode')}"
        if not editable
        else ""
    )
    if editable and len(svc.defs) > 1 and find_key(svc.defs[0].node, "networks") is None and any(
        find_key(d.node, "networks") is not None for d in svc.defs[1:]
    ):
        # Its networks are set only in a later file: in the first file alone it sits on default.
        # Moving it would break that file used alone (production without the override).
        editable = False
        why = f"its networks are set only in {next(d.file.path for d in svc.defs[1:] if find_key(d.node, 'networks'))}"
    inheriting = [e for e in svc.extended_by if {"networks", "network_mode"} & set(extenders.get(e, {}))]
    if editable and inheriting:
        # its network keys are theirs too: editing it would change them behind the plan's back
        editable = False
        why = f"{', '.join(inheriting)} inherit{'s' if len(inheriting) == 1 else ''} its network settings through extends"
    for d in svc.defs if editable else []:
        merged_by = len(d.file.merges().get(id(d.node), []))
        if d.file.doc.anchors_used.get(id(d.node), 0) - 1 > merged_by:
            editable = False  # "db2: *db": the service is an alias; editing it would edit the other
            why = "its definition is shared with another key through a YAML anchor"
        elif merged_by and any("network_mode" in (modes or {}).get(u, {}) for u in d.file.merge_users(d.node)):
            editable = False  # a service merging it has network_mode: it cannot also get networks
            why = "a service that merges it (<<) has its own network_mode"
    mode = untag(data.get("network_mode"))
    if mode is not None:
        mode = str(mode)
        if mode == "host":
            return State("host", [], editable=editable, why_fixed=why)
        if mode == "bridge":
            return State("bridge", ["<bridge>"], editable=editable, why_fixed=why)
        if mode == "none":
            return State("none", [], editable=False, why_fixed="network_mode: none")
        if mode.startswith(("service:", "container:")):
            return State("namespace", [], editable=False, why_fixed=f"network_mode: {mode}")
        return State("other", [], editable=False, why_fixed=f"network_mode: {mode}")
    nets = _networks_value(data)
    if nets is ABSENT:
        return State("default", ["default"], editable=editable, why_fixed=why)
    if isinstance(nets, list):
        names = [str(untag(n)) for n in nets if n is not None]
        return State("nets", names, "list", {}, editable=editable and bool(names), why_fixed=why or "empty networks list")
    if isinstance(nets, dict):
        names = [str(k) for k in nets]
        attrs = {str(k): untag(v) for k, v in nets.items() if untag(v)}
        return State("nets", names, "dict", attrs, editable=editable and bool(names), why_fixed=why or "empty networks")
    return State("other", [], editable=False, why_fixed="networks is not a list or mapping")


def provider_network(data: dict) -> bool:
    """Does a Traefik service name the network its Docker provider uses?"""
    texts = [t for _, t in command_texts(data)] + [f"{k}={v}" for k, v in as_mapping(data.get("environment")).items()]
    return any("providers.docker.network" in t or "PROVIDERS_DOCKER_NETWORK" in t.upper() for t in texts)


def host_justification(svc: Service) -> Justification:
    opt = option_justification(svc.data)
    if opt.justified:
        return opt
    for d in reversed(svc.defs):
        loc = find_key(d.node, "network_mode")
        if loc is not None:
            lines = d.file.lines()
            j = comment_justification(lines, loc.key.start_mark.line)
            if j.justified or j.marker_without_reason:
                return j
            break
    return opt


# --- the planner ------------------------------------------------------------------------------


class Planner:
    def __init__(self, project: Project, analysis: Analysis, blocked: dict[str, str] | None = None):
        self.p = project
        self.a = analysis
        self.plan = Plan(project, analysis)
        self.tiers = analysis.tiers
        inherited = {n: s.inherited for n, s in project.services.items()}
        datas = {n: s.data for n, s in project.services.items()}
        self.state = {n: current_state(s, inherited, datas) for n, s in project.services.items()}
        for name, why in (blocked or {}).items():
            self.state[name].editable = False
            self.state[name].why_fixed = why
            self.plan.findings.append(Finding("cannot-edit", name, f"left as it is: {why}", False))
        self.target: dict[str, list[str]] = {}  # planned network list for services with networks
        self.movable: set[str] = set()
        self.removed_host: set[str] = set()
        self.why: dict[str, dict[str, str]] = {n: {} for n in project.services}  # service -> network -> why
        self.ports_why: dict[str, str] = {}
        self.declared = {str(k): untag(v) for k, v in project.networks.items()}
        self.used_names = set(self.declared) | RESERVED
        for st in self.state.values():
            self.used_names.update(st.nets)
        self.names: dict[str, str] = {}  # role (front/back/data/egress:<net>) -> network name
        self._members: dict[str, list[str]] = {}
        for n in project.services:
            self._members.setdefault(self.owner(n), []).append(n)
        self._net_members: dict[str, list[str]] | None = None  # network -> owners, built on first use
        self._dst_members: set[str] = set()
        self._discovered: dict[str, Any] = {}
        self._dst_sets: dict[int, set[str]] = {}
        self.host_ports: dict[str, list] = {}  # service leaving host mode -> its ports afterwards
        self._taken: set[tuple[int, str]] | None = None
        self._dst_version = 0
        self.internal: set[str] = set()
        self.internal_pending: set[str] = set()
        self.placement: dict[str, dict[str, str]] = {}  # service -> network -> key it depends on

    # names ----------------------------------------------------------------------------------
    def net_name(self, role: str, base: str) -> str:
        if role not in self.names:
            name = base
            i = 2
            while name in self.used_names:
                name = f"{base}-net" if i == 2 else f"{base}-net-{i - 1}"
                i += 1
            self.used_names.add(name)
            self.names[role] = name
        return self.names[role]

    # helpers --------------------------------------------------------------------------------
    def owner(self, name: str) -> str:
        return self.a.owner.get(name, name)

    def members(self, owner: str) -> list[str]:
        """The service and every service sharing its network namespace."""
        return self._members.get(owner, [])

    def is_data_store(self, name: str) -> bool:
        return self.tiers[name].tier == "data"

    def wants_egress_option(self, name: str) -> bool:
        return untag(service_options(self.p.services[name].data).get("egress")) is True

    def publishes(self, name: str) -> bool:
        """Does it publish ports -- now, or once it leaves the host's network?"""
        return portspec.publishes(self.p.services[name].data) or name in self.host_ports

    def needs_way_out(self, name: str) -> bool:
        """Does the service (or anything in its network namespace) need a non-internal network?"""
        for m in self.members(name):
            if not self.is_data_store(m) or self.publishes(m) or self.wants_egress_option(m):
                return True
        return False

    def default_is_plain(self) -> bool:
        d = self.declared.get("default", ABSENT)
        return d is ABSENT or not d

    def external(self, net: str) -> bool:
        d = self.declared.get(net)
        return isinstance(d, dict) and bool(untag(d.get("external")))

    def already_internal(self, net: str) -> bool:
        d = self.declared.get(net)
        return isinstance(d, dict) and untag(d.get("internal")) is True

    def nets_before(self, name: str) -> set[str]:
        st = self.state[self.owner(name)]
        if st.mode == "host":
            return {"<host>"}
        return set(st.nets)

    def connected_before(self, a: str, b: str) -> bool:
        na, nb = self.nets_before(a), self.nets_before(b)
        if "<host>" in na or "<host>" in nb:
            return True
        return bool(na & nb)

    def nets_after(self, name: str) -> list[str]:
        o = self.owner(name)
        if o in self.target:
            return self.target[o]
        return self.state[o].nets

    def join(self, name: str, net: str, why: str) -> bool:
        o = self.owner(name)
        if o not in self.target:
            return False
        if net not in self.target[o]:
            self.target[o].append(net)
            self.why[o].setdefault(net, why)
            if o in self._dst_members:
                self._dst_version += 1
            if self._net_members is not None:
                self._net_members.setdefault(net, []).append(o)
        return True

    # steps ------------------------------------------------------------------------------------
    def run(self) -> Plan:
        self.host_mode()
        self.assign_host_ports()
        self.choose_movable()
        self.assign_tiers()
        self.keep_dependencies()
        self.keep_traefik_networks()
        self.keep_extends()
        self.mark_internal()
        self.keep_extends()
        self.report_sharing()
        self.build_service_plans()
        self.plan.assumed = {s: why for s, why in self.a.assumed.items() if self.owner(s) in self.movable}
        return self.plan

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
                    f"network_mode: host kept: image {tier.image} needs the host's network ({note}); "
                    "document it with '# compose-harden: allow host-network -- <reason>'", False))
                continue
            if not st.editable:
                self.plan.findings.append(Finding(
                    "host-network", name, f"network_mode: host not removed: {st.why_fixed}", False))
                continue
            local = localhost_references(self.p.services[name].data, self.discovered(name), self.p.env)
            if local:
                self.plan.findings.append(Finding(
                    "host-network-localhost", name,
                    f"network_mode: host kept: {local[0]} reaches something on the host through localhost, "
                    "which would break off the host's network; point it at a service name or publish the port, "
                    "or justify host networking", False))
                continue
            self.removed_host.add(name)

    def choose_movable(self) -> None:
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
            elif st.mode == "default" and st.editable and plain_default:
                self.movable.add(name)
                self.target[name] = []
            elif st.mode == "nets" and st.editable:
                keep = list(st.nets)
                if plain_default and "default" in keep and "default" not in st.attrs:
                    keep.remove("default")
                    self.movable.add(name)
                self.target[name] = keep

    def tier_nets_for(self, owner: str) -> list[tuple[str, str]]:
        """(role, why) tier networks a movable service (with its namespace members) joins."""
        out: list[tuple[str, str]] = []
        for m in self.members(owner):
            t = self.tiers[m]
            who = "" if m == owner else f" of {m} in its network namespace"
            if t.tier == "edge":
                out.append(("front", f"edge{who}"))
            elif t.tier == "app":
                out.append(("back", f"app service{who}: its way out"))
            else:
                out.append(("data", f"data store{who}"))
                if self.publishes(m):
                    out.append(("back", f"publishes ports{who}: Docker publishes no ports on internal-only networks"))
                elif self.wants_egress_option(m):
                    out.append(("back", f"x-compose-harden egress: true{who}"))
        return out

    def role_name(self, role: str) -> str:
        return self.net_name(role, {"front": FRONT, "back": BACK, "data": DATA}[role])

    def assign_tiers(self) -> None:
        if not self.movable:
            return
        proposal: dict[str, list[tuple[str, str]]] = {o: self.tier_nets_for(o) for o in self.movable}
        roles_used = {r for lst in proposal.values() for r, _ in lst}
        # Tiering that separates nothing (only app services, or one service) leaves them on default
        # -- unless the stack already declares its networks and nothing else stays on default.
        separates = "data" in roles_used or ("front" in roles_used and len(self.movable) > 1 and roles_used != {"front"})
        declared_stack = any(st.mode == "nets" and st.nets != ["default"] for st in self.state.values())
        default_stays = any(
            "default" in self.state[o].nets and o not in self.movable for o in self.p.services if self.owner(o) == o
        )
        if not separates and (not declared_stack or default_stays):
            for o in self.movable:
                st = self.state[o]
                if st.mode == "nets":
                    self.target[o] = list(st.nets)  # unchanged
                else:
                    self.target[o] = ["default"]
                    if st.mode in ("bridge", "host"):
                        self.why[o]["default"] = "the project's own network: name resolution, no other tier to separate"
            return
        order = {n: i for i, n in enumerate(self.p.services)}
        for o in sorted(self.movable, key=order.__getitem__):
            for role, why in proposal[o]:
                self.join(o, self.role_name(role), why)
                if why.startswith("publishes ports") and self.ports_only_in_later_file(o):
                    # goes with the ports, into the file that publishes them (e.g. a dev override)
                    self.placement.setdefault(o, {})[self.role_name(role)] = "ports"

    def ports_only_in_later_file(self, name: str) -> bool:
        defs = self.p.services[name].defs
        holders = [d for d in defs if find_key(d.node, "ports") is not None]
        return bool(holders) and defs[0] not in holders

    def full_nets(self, o: str) -> list[str]:
        """Networks the service is on in every file of the project."""
        return [n for n in self.nets_after(o) if not self.partial(o, n)]

    def partial(self, o: str, net: str) -> bool:
        """Is this membership only in some of the project's files (see placement)?"""
        return net in self.placement.get(o, {})

    def shared_role(self, a: str, b: str) -> str:
        ta = {self.tiers[m].tier for m in self.members(a)}
        tb = {self.tiers[m].tier for m in self.members(b)}
        if "data" in ta or "data" in tb:
            return "data"
        if "edge" in ta or "edge" in tb:
            return "front"
        return "back"

    KIND_ORDER = ("declared", "namespace", "override", "hostname", "config", "proxy", "role", "source", "assumed")

    def keep_dependencies(self) -> None:
        # the strongest evidence first, so that each join is explained by its best reason
        deps = sorted(self.a.deps.values(), key=lambda dep: self.KIND_ORDER.index(dep.kind))
        for dep in deps:
            self.keep(dep.src, dep.dst, dep.evidence[0], dep.alias_network)
        # A group ("reaches every data store") is kept by checking one member per distinct
        # network situation: members that sit on the same networks are kept together.
        # The representatives of a member set are cached (many admin tools share one set of data
        # stores) until a member of some set changes networks.
        self._dst_members = {self.owner(d) for g in self.a.groups for d in g.dsts}
        cache: dict[int, tuple[int, list[str]]] = {}
        for group in sorted(self.a.groups, key=lambda g: self.KIND_ORDER.index(g.kind)):
            hit = cache.get(id(group.dsts))
            if hit is None or hit[0] != self._dst_version:
                seen: set[tuple] = set()
                reps: list[str] = []
                for dst in group.dsts:
                    if dst == group.src:
                        continue
                    b = self.owner(dst)
                    key = (tuple(self.nets_before(b)), tuple(self.nets_after(b)), b in self.movable, self.state[b].mode)
                    if key not in seen:
                        seen.add(key)
                        reps.append(dst)
                cache[id(group.dsts)] = (self._dst_version, reps)
            else:
                reps = hit[1]
            for dst in reps:
                if dst != group.src:
                    self.keep(group.src, dst, group.evidence)

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
        if not set(self.full_nets(a)).isdisjoint(self.full_nets(b)):
            return
        why = (f"reaches {dst}" if a == src else f"{src} in its network namespace reaches {dst}") + f": {evidence}"
        why_b = (f"reached by {src}" if b == dst else f"{dst} in its network namespace is reached by {src}") + f": {evidence}"
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
        for name, label in self.a.traefik_network.items():
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
        for key, d in self.declared.items():
            if label == key or (isinstance(d, dict) and untag(d.get("name")) == label):
                return key
        if label == "default" or label.endswith("_default"):
            return "default"
        for key in self.declared:
            if label.endswith("_" + key):
                return key
        return None

    def members_of(self, net: str) -> list[str]:
        """Services (namespace owners) on ``net`` after the plan so far."""
        if self._net_members is None:
            self._net_members = {}
            for o in self.p.services:
                if self.owner(o) == o:
                    for n in self.nets_after(o):
                        self._net_members.setdefault(n, []).append(o)
        return list(self._net_members.get(net, []))

    def mark_internal(self) -> None:
        # Of the new networks only the data tier is ever internal: frontend and backend are ways out.
        created = {self.names["data"]} if "data" in self.names else set()
        candidates: list[str] = []
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
            candidates.append(net)
        internal = set(candidates)
        changed = True
        while changed:  # a member that cannot be given another way out blocks the network
            changed = False
            for net in sorted(internal):
                for o in self.members_of(net):
                    if not self.needs_way_out(o) or self.has_way_out(o, internal, net):
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
        for net in candidates:
            if net not in internal:
                continue
            for o in self.members_of(net):
                if self.needs_way_out(o) and not self.has_way_out(o, internal, net):
                    self.join(o, self.egress_name(net), f"its way out once {net} is internal")
        self.simplify(internal)
        for name in sorted(set(self.names.values()), key=self.rank):
            self.plan.networks[name] = NetworkPlan(
                name, create=True, definition=self.new_definition(internal=name in internal),
                reason="new tier network")
        for net in candidates:
            if net in internal and net in self.declared and net not in self.plan.networks:
                self.plan.networks[net] = NetworkPlan(
                    net, set_internal=True,
                    reason="carries data stores; every member that needs a way out has another network")
        self.internal = {n for n in internal if n in self.declared or n in self.names.values()}
        self.internal |= {n for n in self.declared if self.already_internal(n)}

    def simplify(self, internal: set[str]) -> None:
        """Drop new networks that add nothing, then fall back to ``default`` if nothing is left
        that separates anyone."""
        order = ["front"] + [r for r in self.names if r.startswith("egress:")] + ["back", "data"]
        for role in order:
            name = self.names.get(role)
            if name is None:
                continue
            members = set(self.members_of(name))
            if not members or self.redundant(name, members, internal):
                for o in members:
                    self.target[o].remove(name)
                    self.why[o].pop(name, None)
                if self._net_members is not None:
                    self._net_members[name] = []
                for r in [r for r, n in self.names.items() if n == name]:
                    del self.names[r]
        # Everything re-tiered ended up together on one ordinary network: that is what default
        # already is, so leave those services there rather than rename their network.
        created = set(self.names.values())
        if created and not (created & internal):
            sets = {tuple(self.target[o]) for o in self.movable}
            if len(sets) == 1 and len(next(iter(sets))) == 1 and next(iter(sets))[0] in created:
                if all(set(self.members_of(n)) <= self.movable for n in created):
                    for o in self.movable:
                        self.target[o] = ["default"] if self.state[o].mode != "nets" else list(self.state[o].nets)
                        self.why[o] = {"default": "the project's own network: nothing to separate"}
                    self.names.clear()
                    self._net_members = None

    def redundant(self, name: str, members: set[str], internal: set[str]) -> bool:
        """Does every member of ``name`` keep what it gives without it? True when one other
        network holds them all (so it connects nobody new) -- or when only one service is on it
        -- and each member that needs a way out has another one."""
        def others(o: str) -> list[str]:
            # memberships that hold in every file of the project
            return [n for n in self.nets_after(o) if n != name and not n.startswith("<") and not self.partial(o, n)]

        def way_out_elsewhere(o: str) -> bool:
            return not self.needs_way_out(o) or any(
                n not in internal and not self.already_internal(n) for n in others(o)
            )

        if any(self.partial(o, name) for o in members) or not all(way_out_elsewhere(o) for o in members):
            return False
        if len(members) == 1:
            return bool(others(next(iter(members))))
        first = next(iter(members))
        for other in others(first):
            if all(other in others(o) for o in members):
                return True
        return False

    def has_way_out(self, owner: str, internal: set[str], net: str) -> bool:
        for n in self.nets_after(owner):
            if n == net or n in internal or n.startswith("<") or self.already_internal(n):
                continue
            return True
        return False

    def egress_name(self, net: str) -> str:
        """The network that gives members of ``net`` their way out once ``net`` is internal: an
        existing new network when everyone on it is on ``net`` already (joining it connects
        nobody new), otherwise ``backend`` when free, otherwise ``<net>-egress``."""
        key = f"egress:{net}"
        if key in self.names:
            return self.names[key]
        on_net = set(self.members_of(net))
        for role in ["back"] + [r for r in self.names if r.startswith("egress:")]:
            name = self.names.get(role)
            if name and name != net and name not in self.internal_pending and set(self.members_of(name)) <= on_net:
                self.names[key] = name
                return name
        if "back" not in self.names and BACK not in self.used_names:
            name = self.role_name("back")
            self.names[key] = name
            return name
        return self.net_name(key, f"{net}-egress")

    def new_definition(self, internal: bool) -> Any:
        drivers = {
            untag(d.get("driver"))
            for n, d in self.declared.items()
            if isinstance(d, dict) and not untag(d.get("external")) and d.get("driver") is not None
        }
        definition: dict[str, Any] = {}
        if len(drivers) == 1:
            definition["driver"] = next(iter(drivers))
        if internal:
            definition["internal"] = True
        return definition or None

    def report_sharing(self) -> None:
        internal = self.internal
        nets: dict[str, list[str]] = {}
        for o in self.p.services:
            if self.owner(o) != o or self.state[o].mode in ("none", "other", "host") and o not in self.removed_host:
                continue
            for n in self.nets_after(o):
                nets.setdefault(n, []).append(o)
        reported: set[str] = set()
        for net, owners in nets.items():
            if net.startswith("<"):
                continue  # Docker's legacy bridge / the host: reported as legacy-bridge / host-network
            edges = [m for o in owners for m in self.members(o) if self.tiers[m].tier == "edge"]
            if not edges:
                continue
            stores = [m for o in owners for m in self.members(o) if self.tiers[m].tier == "data"]
            for e in edges:
                unlinked = [d for d in stores if not self.linked(e, d)]
                if unlinked and e not in reported:
                    reported.add(e)
                    self.plan.findings.append(Finding(
                        "edge-shares-data", e,
                        f"edge service {e} shares network {net} with data store {', '.join(unlinked)} and nothing "
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
                    f"data store {stores[0]} shares {where} with {', '.join(m for m in others if m != stores[0])}: "
                    "it cannot be isolated from their outbound access", False))
                continue
            if self.state[o].mode in ("host", "other") and o not in self.removed_host:
                continue
            way_out = [n for n in self.nets_after(o) if n not in internal and not n.startswith("<")]
            published = [m for m in stores if self.publishes(m)]
            if published:
                specs = portspec.specs(self.host_ports.get(published[0]) or self.p.services[published[0]].data.get("ports"))
                ports = ", ".join(str(x.raw) for x in specs)
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
            if way_out and o not in about:
                if any(self.external(n) for n in way_out):
                    why = " (externally managed: never edited)"
                elif not self.state[o].editable and self.state[o].why_fixed:
                    why = f" (not edited: {self.state[o].why_fixed})"
                else:
                    why = " (a service that reaches it there cannot be moved)"
                self.plan.findings.append(Finding(
                    "data-egress", o, f"data store {o} keeps outbound access through {', '.join(way_out)}{why}", False))

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
        for dep in self.a.deps.values():
            proxy = self.tiers.get(dep.src)
            if dep.kind != "proxy" or proxy is None or (proxy.info and proxy.info.key != "traefik"):
                continue
            sp = self.plan.services.get(dep.dst)
            if sp is None or dep.dst in self.a.traefik_network:
                continue
            nets = sp.after["networks"]
            names = list(nets) if isinstance(nets, dict) else [str(n) for n in nets] if isinstance(nets, list) else []
            if len(names) < 2 or provider_network(self.p.services[dep.src].data):
                continue
            shared = [n for n in names if n in self.nets_after(self.owner(dep.src))]
            self.plan.findings.append(Finding(
                "traefik-network", dep.dst,
                f"{dep.dst} is routed by {dep.src} and sits on {', '.join(names)}: Traefik may pick the wrong "
                f"one; add the label traefik.docker.network=<project>_{shared[0] if shared else names[0]} "
                "(or --providers.docker.network on Traefik)", False))

    def linked(self, a: str, b: str) -> bool:
        """Does a dependency join a and b (or anything sharing their network namespaces)?"""
        group_a, group_b = self.members(self.owner(a)), self.members(self.owner(b))
        if len(group_a) > 1 or len(group_b) > 1:
            return any(self._linked(x, y) for x in group_a for y in group_b)
        return self._linked(a, b)

    def _linked(self, a: str, b: str) -> bool:
        if (a, b) in self.a.deps or (b, a) in self.a.deps:
            return True
        return any((g.src == a and b in self.dst_set(g)) or (g.src == b and a in self.dst_set(g)) for g in self.groups_of(a, b))

    def dst_set(self, group) -> set[str]:
        """The members of a group as a set, built once per distinct member tuple."""
        got = self._dst_sets.get(id(group.dsts))
        if got is None:
            got = self._dst_sets[id(group.dsts)] = set(group.dsts)
        return got

    def groups_of(self, a: str, b: str) -> list:
        return self.a.groups_by_src.get(a, []) + self.a.groups_by_src.get(b, [])

    def rank(self, net: str) -> int:
        order = [self.names.get(r) for r in ("front", "back", "data")]
        return order.index(net) if net in order else 3

    def discovered(self, name: str):
        if name not in self._discovered:
            self._discovered[name] = discover_ports(self.p.services[name].data, self.tiers[name], self.p.env)
        return self._discovered[name]

    def taken_host_ports(self) -> set[tuple[int, str]]:
        """Host ports in use: published by services, or listened on by services kept on the host's network."""
        if self._taken is None:
            self._taken = set()
            for name, svc in self.p.services.items():
                if name in self.removed_host:
                    continue
                if self.state[name].mode == "host":
                    for p in self.discovered(name).numbers():
                        self._taken.update((n, p.protocol) for n in range(p.number, (p.last or p.number) + 1))
                    continue
                for spec in portspec.specs(svc.data.get("ports")):
                    self._taken.update((n, spec.protocol) for n in spec.host_numbers())
        return self._taken

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
        elif not have and not found.ports:
            self.plan.findings.append(Finding(
                "host-ports-unknown", name,
                "network_mode: host removed, but the ports it listens on could not be determined: "
                "add them under ports:", False))
        self.plan.findings.append(Finding(
            "host-network", name, "network_mode: host removed (no justification comment)", True))

    def build_service_plans(self) -> None:
        order = {n: i for i, n in enumerate(self.p.services)}
        for name in sorted(self.movable, key=order.__getitem__):
            kept = [n for n in self.target[name] if n in self.state[name].nets]
            new = sorted((n for n in self.target[name] if n not in kept), key=self.rank)
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
                    cur_items = [untag(n) for n in untag(data.get("networks"))]
                    kept = [n for n in cur_items if str(n) in final]
                    after["networks"] = kept + [n for n in final if n not in {str(k) for k in kept}]
                else:
                    after["networks"] = list(final) if final else ABSENT
                if st.mode in ("bridge", "host") and name in self.target:
                    after["network_mode"] = ABSENT
            if name in self.host_ports:
                after["ports"] = self.host_ports[name]
            sp = ServicePlan(name, self.tiers[name], before, after, self.why[name], self.ports_why.get(name),
                             self.placement.get(name, {}))
            if sp.changed_keys:
                if st.mode == "bridge":
                    self.plan.findings.append(Finding(
                        "legacy-bridge", name, "network_mode: bridge (Docker's legacy default bridge) replaced", True))
                elif st.mode == "default" or (st.mode == "nets" and "default" in st.nets):
                    self.plan.findings.append(Finding(
                        "flat-network", name, "moved from the flat default network to tier networks", True))
            self.plan.services[name] = sp
        self.report_traefik_ambiguity()
        self.write_out_merged_defaults()
        for net, np_ in self.plan.networks.items():
            if np_.set_internal:
                self.plan.findings.append(Finding(
                    "data-egress", None, f"network {net} marked internal: true ({np_.reason})", True))


def make_plan(project: Project, analysis: Analysis, blocked: dict[str, str] | None = None) -> Plan:
    """Plan the project; ``blocked``: services to leave as they are, with the reason."""
    return Planner(project, analysis, blocked or {}).run()

