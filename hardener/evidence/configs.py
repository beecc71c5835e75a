"""Configuration the services read: files mounted from the project, Compose ``configs:``
(``file:`` and inline ``content:``), inline ``content:`` on volumes, and -- for a reverse proxy
built from source -- the proxy configuration files in its build context.

A file in a reverse proxy's dialect (nginx, Caddy, HAProxy, Traefik, Envoy, Kong, Apache,
Varnish: see :mod:`hardener.evidence.proxies`) is read by that dialect's parser, so that only its
upstreams count; any other small text configuration (Prometheus targets, datasources, an app's
own settings) names a service where it stands like a host. ``${VAR}`` (and Caddy's ``{$VAR}`` /
``{env.VAR}``) are resolved from the service's own environment first, as envsubst templates and
Caddy do at start.
"""

from __future__ import annotations

import re

from hardener.classify import build_context
from hardener.compose import Project, as_mapping, command_texts
from hardener.evidence.environment import service_base, variable_values
from hardener.evidence.hostnames import HostnameMatcher
from hardener.evidence.model import Analysis
from hardener.evidence.proxies import DIALECTS, dialect_of
from hardener.interpolate import interpolate
from hardener.scan import ConfigText, FileReader, compose_configs, missing_config, mounted_texts, scan_context
from hardener.show import clip

_VARS = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\{\$([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}|\{env\.([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute(text: str, variables: dict[str, str]) -> str:
    """Resolve ``${VAR}``, ``${VAR:-default}``, ``{$VAR}`` and ``{env.VAR}``; nginx's own ``$host``
    style variables are left alone."""
    if "$" not in text and "{env." not in text:
        return text

    def repl(m: re.Match) -> str:
        name = m.group(1) or m.group(3) or m.group(5)
        default = m.group(2) if m.group(1) else m.group(4)
        value = variables.get(name)
        if value is None or value == "":
            return default if default is not None else m.group(0)
        return value

    return _VARS.sub(repl, text)


def service_variables(project: Project, data: dict) -> dict[str, str]:
    """The service's environment as the container sees it (the project's .env resolved)."""
    out = dict(project.env)
    for k, v in variable_values(as_mapping(data.get("environment")), project.env):
        out[k] = interpolate(v, project.env)
    return out


def config_texts(project: Project, reader: FileReader, name: str, data: dict) -> list[ConfigText]:
    base = service_base(project, name)
    texts = mounted_texts(reader, data, base, project.env)
    texts += compose_configs(reader, data, project.configs, base, project.env)
    return texts


def proxy_context_texts(project: Project, reader: FileReader, name: str, data: dict) -> list[ConfigText]:
    """Proxy configuration files inside the build context of a service built from source."""
    ctx = build_context(data)
    if ctx is None:
        return []
    scan = scan_context(reader, interpolate(ctx, project.env), service_base(project, name), source_only=False)
    out = []
    for path, text in scan.files:
        if dialect_of(path, text):
            out.append(ConfigText(f"build context {project_rel(project, path)}", text, None))
    return out


def project_rel(project: Project, path: str) -> str:
    import os

    rel = os.path.relpath(path, project.directory)
    return path if rel.startswith("..") else rel


def collect(project: Project, a: Analysis, reader: FileReader, matcher: HostnameMatcher) -> dict[str, list[tuple[ConfigText, str | None]]]:
    """Dependencies from configuration; returns service -> the texts it reads, each with its
    proxy dialect (None for other configuration)."""
    read: dict[str, list[tuple[ConfigText, str | None]]] = {}
    for name, svc in project.services.items():
        data = svc.data
        texts = config_texts(project, reader, name, data)
        tier = a.tiers[name]
        if tier.tier == "edge" or (tier.info and tier.info.family in DIALECTS):
            texts += proxy_context_texts(project, reader, name, data)
        if not texts:
            continue
        variables = service_variables(project, data)
        for ct in texts:
            text = substitute(ct.text, variables)
            dialect = dialect_of(ct.target or "", text, ct.where)
            read.setdefault(name, []).append((ct, dialect))
            if dialect:
                for word, line in DIALECTS[dialect].upstreams(text):
                    for host, dst in matcher.hosts([word]):
                        a.add(name, dst, f"{ct.where}:{line} ({dialect}) routes to '{clip(host)}'", "config", host)
                continue
            for word, dst in matcher.find(text, "config"):
                a.add(name, dst, f"config {ct.where} names '{clip(word)}'", "config", word)
    return read


def unread(project: Project, reader: FileReader) -> dict[str, str]:
    """service -> why configuration it mounts from the project could not be read (it is not
    there: see :func:`hardener.scan.missing_config`)."""
    out: dict[str, str] = {}
    for name, svc in project.services.items():
        data = svc.data
        texts = [t for _, t in command_texts(data)]
        texts += [str(v) for v in as_mapping(data.get("environment")).values() if v is not None]
        why = missing_config(reader, data, service_base(project, name), project.env, texts)
        if why:
            out[name] = why
    return out
