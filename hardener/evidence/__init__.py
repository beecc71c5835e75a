"""Evidence: who must still reach whom, who needs a way out, and how sure the tool is.

One module per kind of evidence, each adding dependencies with a confidence and a reason to one
:class:`~hardener.evidence.model.Analysis`:

==================  ==============================================================================
``declared``        depends_on, links, network_mode service:/container:, x-compose-harden talks-to
``environment``     hostnames in environment values, env files, command, entrypoint, healthcheck, labels
``configs``         mounted files, Compose configs (file and inline content), inline volume content,
                    proxy files in a proxy's build context; each proxy dialect parsed in ``proxies/``
``labels``          proxies that route by discovery (Traefik / caddy-docker-proxy labels, VIRTUAL_HOST)
``roles``           admin tools, exporters and scrapers (the image table's flags)
``source``          hostnames in the source code of build contexts
``shared``          evidence that travels through shared state (same image, shared volume or env)
``routing``         whether each reverse proxy's routes are known
``needs``           reachability kept where evidence is missing (unknown routing, unknown needs)
``outbound``        evidence that a service calls out of the stack (a data store keeps a way out)
``endpoints``       the external hosts a service names, and whether that traffic is HTTP(S)
``hostnet``         why a host-mode service needs the host's network
==================  ==============================================================================

A missed dependency breaks a stack and an extra one only costs isolation: whenever the evidence
is ambiguous the dependency is kept, and what was assumed is reported.
"""

from __future__ import annotations

from hardener.classify import Tier
from hardener.compose import Project
from hardener.errors import InputError
from hardener.evidence import (
    configs,
    declared,
    endpoints,
    environment,
    hostnet,
    labels,
    needs,
    outbound,
    roles,
    routing,
    shared,
    source,
)
from hardener.evidence.hostnames import HostnameMatcher, hostnames
from hardener.evidence.model import MAX_DEPENDENCIES, Analysis, Dependency, GroupDependency, Routing, TooManyDependencies
from hardener.scan import FileReader

__all__ = ["Analysis", "Dependency", "GroupDependency", "Routing", "analyse"]


def analyse(project: Project, tiers: dict[str, Tier], reader: FileReader | None = None) -> Analysis:
    try:
        return _analyse(project, tiers, reader)
    except TooManyDependencies:
        raise InputError(project.files[0].path,
                         f"more than {MAX_DEPENDENCIES:,} dependencies between its {len(project.services):,} services "
                         "(services naming each other), the tool's resource limit for one project (harden it in parts)"
                         ) from None


def _analyse(project: Project, tiers: dict[str, Tier], reader: FileReader | None = None) -> Analysis:
    a = Analysis(tiers=tiers)
    reader = reader or FileReader(project.directory)
    a.hostnames = hostnames(project, project.env, a.alias_networks)
    matcher = HostnameMatcher(a.hostnames)
    declared.collect(project, a)
    environment.collect(project, a, reader, matcher)
    read = configs.collect(project, a, reader, matcher)
    labels.collect(project, a)
    unread = source.collect(project, a, reader, matcher)
    shared.collect(project, a)
    roles.collect(project, a)
    routing.collect(project, a, read)
    needs.collect(project, a, unread, configs.unread(project, reader))
    outbound.collect(project, a, read)
    endpoints.collect(project, a, reader)
    hostnet.collect(project, a, read)
    return a
