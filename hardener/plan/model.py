"""The plan as data: for each service it changes, the final value of ``networks``,
``network_mode`` and ``ports``; for the top-level ``networks``, the definitions to create and
the networks to mark ``internal: true``; and the findings. The editor realises it in the files
and the verifier checks the files say exactly this afterwards."""

from __future__ import annotations

from typing import Any

from hardener.classify import Tier
from hardener.compose import Project, untag
from hardener.evidence import Analysis
from hardener.record import field, record


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()

NETWORK_KEYS = ("networks", "network_mode", "ports")


@record
class Finding:
    """A finding of a rule about a service (or the project): fixed by the tool or for a human."""

    rule: str
    service: str | None
    message: str
    fixed: bool
    acknowledged: Any = None  # the hardener.config.Accept that covers it (set by the pipeline)

    @property
    def note(self) -> bool:
        """Informational (the rule's severity is "note"): it does not fail the run."""
        from hardener.rules import get

        return get(self.rule).severity == "note"

    def as_dict(self) -> dict:
        return {"rule": self.rule, "service": self.service, "message": self.message, "fixed": self.fixed,
                "acknowledged": self.acknowledged.as_dict() if self.acknowledged else None}


@record
class ServicePlan:
    """A service's network keys before and after the plan, and why."""

    name: str
    tier: Tier
    before: dict[str, Any]  # current effective values of NETWORK_KEYS (ABSENT when unset)
    after: dict[str, Any]  # planned values
    why: dict[str, str] = field(default_factory=dict)  # network -> why the service is on it
    ports_why: str | None = None  # why ports are published (leaving host mode)
    placement: dict[str, str] = field(default_factory=dict)  # network -> key whose file should list it
    env_set: dict[str, str] = field(default_factory=dict)  # environment variables to set (egress gateway)
    env_style: str = "mapping"  # how its environment is written: mapping | list

    @property
    def changed_keys(self) -> list[str]:
        keys = [k for k in NETWORK_KEYS if not same(self.before.get(k, ABSENT), self.after.get(k, ABSENT))]
        return keys + (["environment"] if self.env_set else [])


@record
class NetworkPlan:
    """A top-level network the plan creates or makes internal."""

    name: str
    create: bool = False
    definition: Any = None  # for created networks
    set_internal: bool = False
    reason: str = ""


@record
class GatewayPlan:
    """The egress gateway the plan adds (or keeps up to date): one forward proxy, the only member
    of a non-internal network, that the routed services reach on their internal networks."""

    service: str  # its service name
    image: str
    config: str  # the top-level configs entry holding squid.conf
    content: str  # squid.conf
    networks: list[str]  # the egress network first, then the internal networks it serves
    egress_network: str
    mode: str  # report | enforce
    routed: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)  # enforce mode: the hosts it lets through
    exists: bool = False  # already in the file (recognised by its marker)
    config_exists: bool = False
    file_index: int = 0  # the file that defines it (or receives it)

    def definition(self) -> dict:
        return {
            "image": self.image,
            "restart": "unless-stopped",
            "configs": [{"source": self.config, "target": "/etc/squid/squid.conf"}],
            "networks": list(self.networks),
            "x-compose-harden": {"role": "egress-gateway"},
        }


@record
class Plan:
    """What the planner decided for a project: service and network plans, findings and notes."""

    project: Project
    analysis: Analysis
    services: dict[str, ServicePlan] = field(default_factory=dict)
    networks: dict[str, NetworkPlan] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    assumed: dict[str, str] = field(default_factory=dict)  # service -> reach kept on no evidence, and why
    assumed_reach: dict[str, tuple] = field(default_factory=dict)  # service -> what that reach keeps (tuples shared)
    gateway: GatewayPlan | None = None

    @property
    def changed(self) -> bool:
        return any(sp.changed_keys for sp in self.services.values()) or bool(self.networks) or self.gateway_changed

    @property
    def gateway_changed(self) -> bool:
        g = self.gateway
        return g is not None and (not g.exists or not g.config_exists or g.content != self.current_gateway_content())

    def current_gateway_content(self) -> str | None:
        g = self.gateway
        spec = untag(self.project.configs.get(g.config)) if g else None
        content = untag(spec.get("content")) if isinstance(spec, dict) else None
        # a block scalar at the end of a file without a final newline has none either
        return content.replace("$$", "$").rstrip("\n") + "\n" if isinstance(content, str) else None

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


def same(a: Any, b: Any) -> bool:
    if a is ABSENT or b is ABSENT:
        return a is b
    return a == b
