"""Plan the remediation: which networks every service ends up on, and why.

The planner only decides; each step is one module, each with its rule in its docstring:

==================  ==============================================================================
``state``           how each service is networked now and whether it may be edited (interpolated)
``hostmode``        network_mode: host kept or removed, and the ports published in its place
``tiers``           tier networks for services on the implicit default network, the legacy bridge,
                    or leaving host mode
``flat``            declared networks that are flat under another name: data stores leave them
``keep``            every dependency that shared a network before shares one afterwards
``internal``        which networks become internal, which new networks are kept at all
``reports``         findings about the result that need a human
==================  ==============================================================================

The first rule: reachability is removed only on evidence that it is not needed (the evidence
and what was assumed where it is missing come from :mod:`hardener.evidence`).
"""

from __future__ import annotations

from hardener.compose import Project
from hardener.config import Settings
from hardener.evidence import Analysis
from hardener.plan.model import ABSENT, NETWORK_KEYS, Finding, NetworkPlan, Plan, ServicePlan
from hardener.plan.planner import Planner

__all__ = ["ABSENT", "NETWORK_KEYS", "Finding", "NetworkPlan", "Plan", "ServicePlan", "make_plan"]


def make_plan(project: Project, analysis: Analysis, blocked: dict[str, str] | None = None,
              settings: Settings | None = None, unrouted: dict[str, str] | None = None) -> Plan:
    """Plan the project; ``blocked``: services to leave as they are, with the reason;
    ``settings``: the project configuration (the names of the networks created); ``unrouted``:
    services the egress gateway does not route (their proxy variables cannot be written), with
    the reason."""
    return Planner(project, analysis, blocked or {}, settings, unrouted).run()
