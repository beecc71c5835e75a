"""The planner's shared state and vocabulary: where each service is now and will be, network
names, joining a network, and the questions every step asks (is it a data store, does it need a
way out, were two services connected before)."""

from __future__ import annotations

from typing import Any

from hardener import ports as portspec
from hardener.classify import service_options
from hardener.compose import Project, untag
from hardener.config import DEFAULTS, Settings
from hardener.evidence import Analysis
from hardener.interpolate import interpolate
from hardener.plan.model import ABSENT, Finding, Plan
from hardener.plan.state import current_state

FRONT, BACK, DATA = "frontend", "backend", "data"
RESERVED = frozenset({"default", "host", "bridge", "none"})


class Core:
    def __init__(self, project: Project, analysis: Analysis, blocked: dict[str, str] | None = None,
                 settings: Settings | None = None, unrouted: dict[str, str] | None = None):
        self.p = project
        self.unrouted = dict(unrouted or {})  # service -> why the egress gateway cannot route it
        self.settings = settings or DEFAULTS  # read through network_base() only
        self.a = analysis
        self.plan = Plan(project, analysis)
        self.tiers = analysis.tiers
        inherited = {n: s.inherited for n, s in project.services.items()}
        datas = {n: s.data for n, s in project.services.items()}
        self.state = {n: current_state(s, project.env, inherited, datas) for n, s in project.services.items()}
        for name, st in self.state.items():
            if st.unresolved:
                self.plan.findings.append(Finding(
                    "unresolved-network", name,
                    f"left as it is: its {st.unresolved}; set it in .env or give it a default", False))
        self.unresolved = sorted(n for n, st in self.state.items() if st.unresolved)
        for name, why in (blocked or {}).items():
            self.state[name].editable = False
            self.state[name].why_fixed = why
            self.plan.findings.append(Finding("cannot-edit", name, f"left as it is: {why}", False))
        self.target: dict[str, list[str]] = {}  # planned network list for services with networks
        self.movable: set[str] = set()  # re-tiered: their networks are decided afresh
        self.removed_host: set[str] = set()
        self.why: dict[str, dict[str, str]] = {n: {} for n in project.services}  # service -> network -> why
        self.ports_why: dict[str, str] = {}
        self.declared = {str(k): untag(v) for k, v in project.networks.items()}
        self.used_names = set(self.declared) | RESERVED
        for st in self.state.values():
            self.used_names.update(st.nets)
        self.names = RoleNames()  # role (front/back/data/egress:<net>) -> network name
        self._members: dict[str, list[str]] = {}
        for n in project.services:
            self._members.setdefault(self.owner(n), []).append(n)
        # network -> owner -> how many times it is listed (an ordered multiset: leaving is O(1);
        # "networks: [back, back]" counts twice), built on first use
        self._net_members: dict[str, dict[str, int]] | None = None
        # namespace -> the sets its moves are reported to: those of the group member tuples that
        # hold one of its services (see Keep.keep_dependencies and plan.situations)
        self._watchers: dict[str, list[set[str]]] = {}
        self._reach_cache: tuple | None = None  # see _reaches_many
        self._before: dict[str, frozenset[str]] = {}  # see nets_before
        self.moves: dict[str, int] = {}  # namespace -> how many times join or leave changed its networks
        self.host_ports: dict[str, list] = {}  # service leaving host mode -> its ports afterwards
        self.internal: set[str] = set()
        self.internal_pending: set[str] = set()
        self.placement: dict[str, dict[str, str]] = {}  # service -> network -> key it depends on
        self.split: dict[str, str] = {}  # data store -> the flat network it was moved off
        self.store_roles: dict[str, str] = {}  # data store (owner) -> its data network role
        self.group_roles: dict[tuple, str] = {}  # store signature -> data network role
        self.env_plans: dict[str, dict[str, str]] = {}  # service -> environment variables to set
        self._dst_sets: dict[int, set[str]] = {}

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

    def network_base(self, role: str) -> str:
        """The name a new tier network gets (front, back, data): the configuration's
        ``networks``, or the default."""
        return self.settings.network_name(role, {"front": FRONT, "back": BACK, "data": DATA}[role])

    def role_name(self, role: str) -> str:
        if role.startswith("data:"):
            return self.net_name(role, f"{self.network_base('data')}-{role[5:]}")
        if role.startswith("own:"):
            return self.net_name(role, f"{role[4:]}-egress")
        return self.net_name(role, self.network_base(role))

    def rank(self, net: str) -> int:
        """front 0, back 1, data networks 2, others 3 (the order new networks are listed in)."""
        return self.names.derived().rank.get(net, 3)

    def data_roles(self) -> list[str]:
        """The roles of the data networks created so far (do not modify the list)."""
        return self.names.derived().data_roles

    def data_role(self, owner: str) -> str:
        """The data network role of a data store (see :meth:`group_stores`)."""
        return self.store_roles.get(owner, "data")

    def store_net(self, owner: str) -> str | None:
        """The data network a data store sits on in the plan, if any (the first data network
        created, of those it is on)."""
        position = self.names.derived().data_position
        found = [(position[n], n) for n in self.full_nets(owner) if n in position]
        return min(found)[1] if found else None

    def store_signatures(self, stores: list[str]) -> dict[str, tuple]:
        """Who each data store serves, as a comparable signature. Clients are counted through
        dependencies in either direction and through groups (one application assumed to reach
        every data store reaches all of them alike); a group counts by its member tuple, so that
        N assumed clients of M stores cost N + M. A store's signature does not depend on which
        other stores are asked about."""
        store_set = set(stores)
        direct: dict[str, set[str]] = {s: set() for s in stores}
        for dep in self.a.deps.values():
            a, b = self.owner(dep.src), self.owner(dep.dst)
            if a == b:
                continue
            if b in store_set:
                direct[b].add(a)
            if a in store_set:
                direct[a].add(b)
        tuple_srcs: dict[int, set[str]] = {}
        tuple_stores: dict[int, list[str]] = {}
        for g in self.a.groups:
            key = id(g.dsts)
            if key not in tuple_stores:
                tuple_stores[key] = [o for o in dict.fromkeys(self.owner(d) for d in g.dsts) if o in store_set]
            tuple_srcs.setdefault(key, set()).add(self.owner(g.src))
            if self.owner(g.src) in store_set:  # a store reaching a set (an admin store? rare): its own clients
                direct[self.owner(g.src)].update(self.owner(d) for d in g.dsts)
        in_tuples: dict[str, list[int]] = {s: [] for s in stores}
        for key, members in tuple_stores.items():
            if tuple_srcs.get(key):
                for s in members:
                    in_tuples[s].append(key)
        signature: dict[str, tuple] = {}
        covered_by: dict[frozenset, set[str]] = {}  # the clients a set of member tuples counts
        for s in stores:
            # clients a member tuple already counts are not counted again: the tuples' sources are
            # gathered once per distinct set of tuples, or each client looked up in them when that
            # is cheaper (a store in many tuples with few clients of its own)
            keys = frozenset(in_tuples[s])
            covering = [tuple_srcs[k] for k in in_tuples[s]]
            covered = covered_by.get(keys)
            if covered is None and len(direct[s]) * len(covering) > sum(map(len, covering)):
                covered = covered_by[keys] = set().union(*covering)
            if covered is not None:
                own = frozenset(c for c in direct[s] if c != s and c not in covered)
            else:
                own = frozenset(c for c in direct[s] if c != s and not any(c in srcs for srcs in covering))
            signature[s] = (own, keys)
        return signature

    def group_stores(self, stores: list[str]) -> None:
        """Data stores that serve the same clients share one internal data network; stores with
        different clients get one each (``data-<first store>``), so that a client of the cache
        does not reach the database. One group keeps the plain name ``data``. Stores grouped
        later (a second look at flat networks) join the group of their signature, or a new one."""
        signature = self.store_signatures(stores)
        groups: dict[tuple, list[str]] = {}
        for s in stores:
            groups.setdefault(signature[s], []).append(s)
        if not self.group_roles:
            single = len(groups) <= 1
            for sig, members in groups.items():
                self.group_roles[sig] = "data" if single else f"data:{members[0]}"
        for sig, members in groups.items():
            role = self.group_roles.setdefault(sig, f"data:{members[0]}")
            for s in members:
                self.store_roles[s] = role

    # services ---------------------------------------------------------------------------------
    def owner(self, name: str) -> str:
        return self.a.owner.get(name, name)

    def members(self, owner: str) -> list[str]:
        """The service and every service sharing its network namespace."""
        return self._members.get(owner, [])

    def is_data_store(self, name: str) -> bool:
        return self.tiers[name].tier == "data"

    def is_store_owner(self, owner: str) -> bool:
        """Is every service in this network namespace a data store?"""
        return all(self.is_data_store(m) for m in self.members(owner))

    def wants_egress_option(self, name: str) -> bool:
        return untag(service_options(self.p.services[name].data).get("egress")) is True

    def publishes(self, name: str) -> bool:
        """Does it publish ports -- now, or once it leaves the host's network?"""
        return portspec.publishes(self.p.services[name].data) or name in self.host_ports

    def store_way_out(self, name: str) -> str | None:
        """Why a data store needs a non-internal network (None when it does not)."""
        if self.publishes(name):
            return "publishes ports: Docker publishes no ports on internal-only networks"
        if self.wants_egress_option(name):
            return "x-compose-harden egress: true"
        out = self.a.outbound.get(name)
        if out:
            return f"calls out of the stack ({out[0]})"
        t = self.tiers[name]
        if t.guessed:
            return f"its tier is a guess ({t.evidence}): it keeps a way out"
        return None

    def private_way_out(self, name: str) -> bool:
        """Does a data store get a way out of its own (a network only it is on) rather than the
        application network? Yes when it is known to need one (published ports, outbound
        evidence, ``egress: true``): the ports stay published without putting it next to
        services that do not use it. A guessed data store keeps the application network."""
        return bool(self.store_way_out(name)) and not self.tiers[name].guessed

    def needs_way_out(self, name: str) -> bool:
        """Does the service (or anything in its network namespace) need a non-internal network?"""
        return any(not self.is_data_store(m) or self.store_way_out(m) for m in self.members(name))

    # networks ---------------------------------------------------------------------------------
    def default_is_plain(self) -> bool:
        d = self.declared.get("default", ABSENT)
        return d is ABSENT or not d

    def external(self, net: str) -> bool:
        d = self.declared.get(net)
        return isinstance(d, dict) and bool(untag(d.get("external")))

    def fixed_addressing(self, net: str) -> str | None:
        """Why a network has fixed addressing (an ipam subnet, services pinning addresses), if it has."""
        pins = self.pinned(net)
        if pins:
            return f"fixed addresses on {', '.join(pins[:5])}{' (+more)' if len(pins) > 5 else ''}"
        d = self.declared.get(net)
        ipam = untag(d.get("ipam")) if isinstance(d, dict) else None
        if isinstance(ipam, dict) and untag(ipam.get("config")):
            return "an ipam subnet that configurations may refer to"
        return None

    def pinned_on(self, name: str, net: str) -> bool:
        attrs = self.state[name].attrs.get(net)
        return isinstance(attrs, dict) and any(attrs.get(k) for k in ("ipv4_address", "ipv6_address"))

    def pinned(self, net: str) -> list[str]:
        """The services that pin an address on ``net``, in the project's order (the current
        state, gathered once: asked about every network, it would cost networks x services)."""
        pins = self.__dict__.get("_pins")
        if pins is None:
            pins = self.__dict__["_pins"] = {}
            for name, st in self.state.items():
                for n in st.attrs:
                    if self.pinned_on(name, n):
                        pins.setdefault(n, []).append(name)
        return pins.get(net, [])

    def freeze_unresolved_neighbours(self) -> None:
        """A service whose network cannot be resolved may be on any network: services linked to it
        keep every network they are on (nothing it could reach is cut)."""
        for u in self.unresolved:
            for name in self.p.services:
                if name != u and self.state[name].editable and self.linked(name, u):
                    self.state[name].editable = False
                    self.state[name].why_fixed = f"linked to {u}, whose network cannot be resolved"

    def label_network(self, name: str) -> str | None:
        """The network a ``traefik.docker.network`` label of the service names, when its namespace
        is on it before the plan (None otherwise: a label naming another network says nothing of
        where a proxy meets it)."""
        label = self.a.traefik_network.get(name)
        net = self.resolve_network(label) if label else None
        return net if net is not None and net in self.nets_before(name) else None

    def fixed_name(self, net: str) -> str | None:
        """The explicit ``name:`` of a network this project creates (other projects can attach to it)."""
        d = self.declared.get(net)
        if isinstance(d, dict) and not untag(d.get("external")) and untag(d.get("name")) is not None:
            return interpolate(str(untag(d["name"])), self.p.env)
        return None

    def already_internal(self, net: str) -> bool:
        d = self.declared.get(net)
        return isinstance(d, dict) and untag(d.get("internal")) is True

    def nets_before(self, name: str) -> frozenset[str]:
        """The networks of the service's namespace before the plan (``<host>`` in host mode),
        made once per namespace: a proxy on thousands of networks is asked about at each of its
        dependencies."""
        o = self.owner(name)
        got = self._before.get(o)
        if got is None:
            st = self.state[o]
            got = self._before[o] = frozenset(("<host>",) if st.mode == "host" else st.nets)
        return got

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

    def net_index(self) -> dict[str, dict[str, int]]:
        """Network -> the namespace owners on it after the plan so far (-> times listed): built on
        first use, then kept up to date by :meth:`join` and :meth:`leave`."""
        if self._net_members is None:
            self._net_members = {}
            for o in self.p.services:
                if self.owner(o) == o:
                    for n in self.nets_after(o):
                        counts = self._net_members.setdefault(n, {})
                        counts[o] = counts.get(o, 0) + 1
        return self._net_members

    def members_of(self, net: str) -> list[str]:
        """Services (namespace owners) on ``net`` after the plan so far."""
        return [o for o, times in self.net_index().get(net, {}).items() for _ in range(times)]

    def share_full_net(self, a: str, b: str) -> bool:
        """Are namespaces ``a`` and ``b`` on a common network in every file of the project (do
        their :meth:`full_nets` meet)? The shorter list of the two is walked and the other side
        looked up in the network index: a service on thousands of networks (the data network of
        every store that reaches it) costs the other side's few, not its thousands."""
        na, nb = self.nets_after(a), self.nets_after(b)
        if len(na) > len(nb):
            a, b, na = b, a, nb
        index = self.net_index()
        return any(b in index.get(n, ()) and not self.partial(a, n) and not self.partial(b, n) for n in na)

    def join(self, name: str, net: str, why: str) -> bool:
        o = self.owner(name)
        if o not in self.target:
            return False
        if net not in self.target[o]:
            self.target[o].append(net)
            self.why[o].setdefault(net, why)
            self.moves[o] = self.moves.get(o, 0) + 1
            for moved in self._watchers.get(o, ()):
                moved.add(o)
            if self._net_members is not None:
                counts = self._net_members.setdefault(net, {})
                counts[o] = counts.get(o, 0) + 1
        return True

    def leave(self, name: str, net: str) -> None:
        o = self.owner(name)
        if o in self.target and net in self.target[o]:
            self.target[o].remove(net)
            self.why[o].pop(net, None)
            self.moves[o] = self.moves.get(o, 0) + 1
            for moved in self._watchers.get(o, ()):
                moved.add(o)
            if self._net_members is not None:
                counts = self._net_members.get(net, {})
                if counts.get(o, 0) > 1:
                    counts[o] -= 1
                else:
                    counts.pop(o, None)

    def full_nets(self, o: str) -> list[str]:
        """Networks the service is on in every file of the project."""
        return [n for n in self.nets_after(o) if not self.partial(o, n)]

    def partial(self, o: str, net: str) -> bool:
        """Is this membership only in some of the project's files (see placement)?"""
        return net in self.placement.get(o, {})

    def new_definition(self, internal: bool) -> Any:
        drivers = self.__dict__.get("_drivers")
        if drivers is None:  # the declared networks do not change: gathered once
            drivers = self.__dict__["_drivers"] = {
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

    # dependencies -----------------------------------------------------------------------------
    def reaches_any(self, owner: str, targets: set[str]) -> bool:
        """Does a dependency (evidenced or assumed, either direction) join this namespace to one
        of the ``targets`` (namespace owners)?"""
        if len(targets) > 8:
            return self._reaches_many(owner, targets)
        names = [m for t in targets for m in self.members(t)]
        mine = self.members(owner)
        for m in mine:
            if self._depends(m, names):
                return True
            for g in self.a.groups_by_src.get(m, []):
                gs = self.dst_set(g)
                if any(n in gs for n in names):
                    return True
        for n in names:
            if self._depends(n, mine):
                return True
            for g in self.a.groups_by_src.get(n, []):
                gs = self.dst_set(g)
                if any(x in gs for x in mine):
                    return True
        return False

    def _depends(self, src: str, dsts: list[str]) -> bool:
        """Does ``src`` have a dependency on one of ``dsts``? Its own dependencies are walked, or,
        when they are more (a proxy routing to thousands of services, asked about each block's
        network), each of ``dsts`` is looked up."""
        mine = self.a.of(src)
        if len(mine) > len(dsts):
            deps = self.a.deps
            return any((src, d) in deps for d in dsts)
        wanted = set(dsts)
        return any(d.dst in wanted for d in mine)

    def _reaches_many(self, owner: str, targets: set[str]) -> bool:
        """:meth:`reaches_any` for a large set of targets, asked about many owners in turn (the
        data stores of a flat network): what the targets reach is gathered once per set, so that
        each question costs the owner's own dependencies, not every target's."""
        hit = self._reach_cache
        if hit is None or hit[0] is not targets or hit[1] != len(targets):
            names = {m for t in targets for m in self.members(t)}
            reached: set[str] = set()
            for n in names:
                reached.update(d.dst for d in self.a.of(n))
                for g in self.a.groups_by_src.get(n, []):
                    reached |= self.dst_set(g)
            hit = self._reach_cache = (targets, len(targets), names, reached, {})
        names, reached, meets = hit[2], hit[3], hit[4]
        for m in self.members(owner):
            if any(self.owner(d.dst) in targets for d in self.a.of(m)):
                return True
            for g in self.a.groups_by_src.get(m, []):
                # groups of one kin share one member tuple: each distinct tuple is compared once
                met = meets.get(id(g.dsts))
                if met is None:
                    met = meets[id(g.dsts)] = not names.isdisjoint(self.dst_set(g))
                if met:
                    return True
        return not reached.isdisjoint(self.members(owner))

    def dst_set(self, group) -> set[str]:
        """The members of a group as a set, built once per distinct member tuple."""
        got = self._dst_sets.get(id(group.dsts))
        if got is None:
            got = self._dst_sets[id(group.dsts)] = set(group.dsts)
        return got

    def linked(self, a: str, b: str) -> bool:
        """Does a dependency join a and b (or anything sharing their network namespaces)?"""
        return self.reaches_any(self.owner(a), {self.owner(b)})


class RoleNames(dict):
    """Role -> network name, with what the planner derives from it (the rank of each name, the
    data roles in order) computed once per change rather than once per question: a stack of
    thousands of services may have hundreds of data networks."""

    def __init__(self) -> None:
        super().__init__()
        self._derived: _Derived | None = None

    def __setitem__(self, key: str, value: str) -> None:
        self._derived = None
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._derived = None
        super().__delitem__(key)

    def clear(self) -> None:
        self._derived = None
        super().clear()

    def pop(self, *args: Any) -> Any:
        self._derived = None
        return super().pop(*args)

    def setdefault(self, *args: Any) -> Any:
        self._derived = None
        return super().setdefault(*args)

    def update(self, *args: Any, **kw: Any) -> None:
        self._derived = None
        super().update(*args, **kw)

    def popitem(self) -> tuple[str, str]:
        self._derived = None
        return super().popitem()

    def derived(self) -> "_Derived":
        if self._derived is None:
            self._derived = _Derived(self)
        return self._derived


class _Derived:
    __slots__ = ("rank", "data_roles", "data_position", "names", "roles_of")

    def __init__(self, names: dict[str, str]):
        self.rank: dict[str, int] = {}
        for i, role in enumerate(("front", "back", "data")):
            n = names.get(role)
            if n is not None and n not in self.rank:
                self.rank[n] = i
        for role, n in names.items():
            if role.startswith("data:") and n not in self.rank:
                self.rank[n] = 2
        self.data_roles = [r for r in names if r == "data" or r.startswith("data:")]
        self.data_position: dict[str, int] = {}
        for i, role in enumerate(self.data_roles):
            self.data_position.setdefault(names[role], i)
        self.names = set(names.values())
        self.roles_of: dict[str, list[str]] = {}
        for role, n in names.items():
            self.roles_of.setdefault(n, []).append(role)
