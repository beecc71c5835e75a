"""What the evidence modules produce: dependencies with their confidence and reasons.

A :class:`Dependency` says that one service opens connections to another; a
:class:`GroupDependency` says that one service reaches every member of a set (an admin tool and
the data stores it serves, an application whose needs are unknown and the data stores it could
reach). Each carries a *confidence*, which says where the knowledge comes from:

``declared``  the compose file says so (``depends_on``, ``links``, ``network_mode: service:``,
              ``x-compose-harden: talks-to``)
``config``    a configuration file or inline content the service reads (proxy routes, scrape
              targets, datasources), or routing labels a discovery proxy reads
``env``       a hostname in the service's environment, env files, command or labels
``source``    a hostname in the source code of its build context
``role``      what the image is known to do (an admin UI reaches its data stores)
``assumed``   no evidence either way: the reachability is kept because nothing shows it is
              unneeded, and the summary says it was not verified

The planner treats every dependency alike -- it is kept -- and reports the ``assumed`` ones.
"""

from __future__ import annotations

from hardener.classify import Tier
from hardener.record import field, record

CONFIDENCES = ("declared", "config", "env", "source", "role", "assumed")
# kind (what produced the dependency) -> confidence
KIND_CONFIDENCE = {
    "declared": "declared",
    "namespace": "declared",
    "override": "declared",
    "config": "config",
    "proxy": "config",
    "hostname": "env",
    "shared": "env",
    "source": "source",
    "role": "role",
    "assumed": "assumed",
}
# the order in which the planner keeps dependencies: the strongest explains each join first
KIND_ORDER = ("declared", "namespace", "override", "hostname", "config", "proxy", "shared", "role", "source", "assumed")


@record
class Dependency:
    """One service needs to reach another, with the evidence for it."""

    src: str
    dst: str
    evidence: list[str] = field(default_factory=list)
    kind: str = "declared"  # the strongest kind of evidence (see KIND_ORDER)
    alias_network: str | None = None  # reached through an alias that only resolves on this network
    by_kind: dict[str, str] = field(default_factory=dict)  # kind of evidence -> its first evidence

    @property
    def kinds(self) -> set[str]:
        return set(self.by_kind)

    @property
    def confidence(self) -> str:
        return KIND_CONFIDENCE[self.kind]


@record
class GroupDependency:
    """One service reaching every service of a set. Kept as one entry so that N admin tools and M
    data stores cost N + M, not N * M."""

    src: str
    dsts: tuple[str, ...]  # may contain src itself, which is skipped
    evidence: str
    kind: str = "role"  # role | assumed

    @property
    def confidence(self) -> str:
        return KIND_CONFIDENCE[self.kind]


@record
class Routing:
    """What is known of a reverse proxy's routes."""

    known: bool
    why: str  # where the routes were read, or why they could not be


# Dependencies between pairs of services one project may have: a real stack has hundreds; a file
# in which every one of a thousand services names every other has a million, and listing,
# planning and reporting them would take minutes. Past this, the project is refused.
MAX_DEPENDENCIES = 200_000


class TooManyDependencies(Exception):
    pass


# Reasons kept per dependency: enough for any report, and bounded when every service of a large
# stack names every other (each would otherwise add one reason per kin service to every pair).
MAX_EVIDENCE = 4


@record
class Analysis:
    """Everything the evidence says about a project: tiers, dependencies, routing and ways out."""

    tiers: dict[str, Tier]
    deps: dict[tuple[str, str], Dependency] = field(default_factory=dict)
    groups: list[GroupDependency] = field(default_factory=list)
    by_src: dict[str, list[Dependency]] = field(default_factory=dict)
    groups_by_src: dict[str, list[GroupDependency]] = field(default_factory=dict)
    owner: dict[str, str] = field(default_factory=dict)  # network-namespace owner of each service
    traefik_network: dict[str, str] = field(default_factory=dict)  # service -> traefik.docker.network value
    hostnames: dict[str, str] = field(default_factory=dict)  # hostname (lower case) -> service
    assumed: dict[str, str] = field(default_factory=dict)  # service -> why it keeps reach it was not shown to need
    alias_networks: dict[str, str] = field(default_factory=dict)  # network alias (lower case) -> its network
    routing: dict[str, Routing] = field(default_factory=dict)  # edge service -> what is known of its routes
    outside_proxy: dict[str, str] = field(default_factory=dict)  # service routed by a discovery proxy the project lacks -> why
    outbound: dict[str, list[str]] = field(default_factory=dict)  # service -> evidence it calls out of the stack
    endpoints: dict[str, list] = field(default_factory=dict)  # service -> external Endpoints it names
    host_reasons: dict[str, tuple[str, str]] = field(default_factory=dict)  # host-mode service -> (rule, why it needs the host network)

    def add(self, src: str, dst: str, evidence: str, kind: str, word: str | None = None) -> None:
        if src == dst:
            return
        dep = self.deps.get((src, dst))
        if dep is None:
            if len(self.deps) >= MAX_DEPENDENCIES:
                raise TooManyDependencies()
            dep = self.deps[(src, dst)] = Dependency(src, dst, [evidence], kind, by_kind={kind: evidence})
            self.by_src.setdefault(src, []).append(dep)
        elif evidence not in dep.evidence:
            dep.by_kind.setdefault(kind, evidence)
            if len(dep.evidence) < MAX_EVIDENCE:  # enough reasons are kept; what kind it is still counts
                dep.evidence.append(evidence)
            if KIND_ORDER.index(kind) < KIND_ORDER.index(dep.kind):
                dep.kind = kind
        if word is not None and dep.alias_network is None:
            dep.alias_network = self.alias_networks.get(word.lower())

    def add_group(self, src: str, dsts: tuple[str, ...], evidence: str, kind: str) -> None:
        # the tuple is shared between groups as it is (src may be in it: users skip it), so
        # that the planner can work per distinct member set
        if any(d != src for d in dsts[:2]):
            group = GroupDependency(src, dsts, evidence, kind)
            self.groups.append(group)
            self.groups_by_src.setdefault(src, []).append(group)

    def add_outbound(self, service: str, evidence: str) -> None:
        items = self.outbound.setdefault(service, [])
        if evidence not in items:
            items.append(evidence)

    def of(self, name: str) -> list[Dependency]:
        return self.by_src.get(name, [])

    def reaches(self, src: str) -> list[str]:
        """Every service ``src`` reaches, through pairs and groups."""
        out = [d.dst for d in self.of(src)]
        for g in self.groups_by_src.get(src, []):
            out.extend(d for d in g.dsts if d != src)
        return out

    def shows_evidence(self, src: str) -> bool:
        """Does ``src`` reach anything on evidence (not assumed)? (A group always has a member
        other than its source: see :meth:`add_group`.)"""
        return any(d.kind != "assumed" for d in self.of(src)) or any(
            g.kind != "assumed" for g in self.groups_by_src.get(src, []))

    def pairs(self) -> list[tuple[str, str, str, list[str]]]:
        """Every dependency as (src, dst, kind, evidence), groups expanded (for reports)."""
        out = [(d.src, d.dst, d.kind, d.evidence) for d in self.deps.values()]
        for g in self.groups:
            out.extend((g.src, d, g.kind, [g.evidence]) for d in g.dsts if d != g.src)
        return out
