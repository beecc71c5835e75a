"""Who must still reach whom: dependencies between services, each with its evidence.

Sources, in the order they are read: ``depends_on`` (both forms), ``links``, ``network_mode:
service:X`` / ``container:X``, the service's own ``x-compose-harden: {talks-to: [...]}``; other
services' hostnames (names, container names, hostnames, network and link aliases) in environment
values, ``env_file`` files, ``command``, ``entrypoint``, healthchecks and labels; proxies that route
by discovery (Traefik / caddy-docker-proxy labels, nginx-proxy ``VIRTUAL_HOST``); configuration files
mounted from the project (nginx, HAProxy, Caddy, Prometheus, ...); the source in a service's build
context; admin tools, exporters and metrics scrapers, which reach what they serve even when nothing
in the file says so. A missed dependency breaks a stack and an extra one only costs isolation, so
whenever the evidence is ambiguous the dependency is kept.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from hardener.classify import Tier, build_context, service_options
from hardener.compose import Project, as_mapping, command_texts, untag
from hardener.interpolate import interpolate
from hardener.lazyre import LazyRe
from hardener.scan import FileReader, env_files, mounted_texts, read_env_file_safe, scan_context

PROXY_LABEL_PREFIXES = ("traefik.", "caddy")


@dataclass
class Dependency:
    src: str
    dst: str
    evidence: list[str] = field(default_factory=list)
    kind: str = "declared"  # declared | hostname | proxy | config | source | role | namespace | assumed | override
    alias_network: str | None = None  # reached through an alias that only resolves on this network


@dataclass
class GroupDependency:
    """One service reaching every service of a set: an admin tool and the data stores it serves,
    a scraper and the exporters, a built service assumed to use the data stores. Kept as one
    entry so that N admin tools and M data stores cost N + M, not N * M."""

    src: str
    dsts: tuple[str, ...]  # may contain src itself, which is skipped
    evidence: str
    kind: str = "role"  # role | assumed


@dataclass
class Analysis:
    tiers: dict[str, Tier]
    deps: dict[tuple[str, str], Dependency] = field(default_factory=dict)
    groups: list[GroupDependency] = field(default_factory=list)
    by_src: dict[str, list[Dependency]] = field(default_factory=dict)
    groups_by_src: dict[str, list[GroupDependency]] = field(default_factory=dict)
    owner: dict[str, str] = field(default_factory=dict)  # network-namespace owner of each service
    traefik_network: dict[str, str] = field(default_factory=dict)  # service -> traefik.docker.network value
    hostnames: dict[str, str] = field(default_factory=dict)  # hostname (lower case) -> service
    assumed: dict[str, str] = field(default_factory=dict)  # service -> why it keeps access to data stores
    alias_networks: dict[str, str] = field(default_factory=dict)  # network alias (lower case) -> its network

    def add(self, src: str, dst: str, evidence: str, kind: str, word: str | None = None) -> None:
        if src == dst:
            return
        dep = self.deps.get((src, dst))
        if dep is None:
            dep = self.deps[(src, dst)] = Dependency(src, dst, [evidence], kind)
            self.by_src.setdefault(src, []).append(dep)
        elif evidence not in dep.evidence:
            dep.evidence.append(evidence)
        if word is not None and dep.alias_network is None:
            dep.alias_network = self.alias_networks.get(word.lower())

    def add_group(self, src: str, dsts: tuple[str, ...], evidence: str, kind: str) -> None:
        # the tuple is shared between groups as it is (src may be in it: users skip it), so
        # that the planner can work per distinct member set
        if any(d != src for d in dsts[:2]):
            group = GroupDependency(src, dsts, evidence, kind)
            self.groups.append(group)
            self.groups_by_src.setdefault(src, []).append(group)

    def of(self, name: str) -> list[Dependency]:
        return self.by_src.get(name, [])

    def reaches(self, src: str) -> list[str]:
        """Every service ``src`` reaches, through pairs and groups."""
        out = [d.dst for d in self.of(src)]
        for g in self.groups_by_src.get(src, []):
            out.extend(d for d in g.dsts if d != src)
        return out

    def pairs(self) -> list[tuple[str, str, str, list[str]]]:
        """Every dependency as (src, dst, kind, evidence), groups expanded (for reports)."""
        out = [(d.src, d.dst, d.kind, d.evidence) for d in self.deps.values()]
        for g in self.groups:
            out.extend((g.src, d, g.kind, [g.evidence]) for d in g.dsts if d != g.src)
        return out


# A hostname-shaped token: not glued to other name characters, not the start of a longer domain.
_LOOSE = re.compile(r"(?<![\w.\-$])([A-Za-z0-9_][\w\-]*(?:\.[\w\-]+)*)(?![\w\-]|://)")
# In mounted configuration files a name counts when it stands like a host: after a separator
# (space, "@", "=", ",", a quote or bracket, or the "//" of a URL -- not after a single "/", which is
# a path) and before a port, a path, a separator or the end of the line, as in
# "proxy_pass http://app:8000;", "server app;", "targets: ['node-exporter:9100']". A number followed
# by a unit ("keys_zone=cache:10m") is a size, not a port.
_CONFIG = LazyRe(
    r"(?:^|(?<=//)|(?<=[\s@,='\"(\[]))([A-Za-z0-9_][\w\-]*(?:\.[\w\-]+)*)"
    r"(?=:\d{1,5}(?![\w.])|/|[\s;,'\")\]]|$)",
    re.M,
)
_CONFIG_COMMENT = LazyRe(r"(?:^|(?<=\s))[#;].*$", re.M)
# nginx names other hosts only in *_pass directives, upstream "server" lines and URLs; everything
# else there is a zone, a path or a variable ("proxy_cache cache;" names a cache zone).
_NGINX_HINT = LazyRe(r"\b(?:proxy_pass|fastcgi_pass|location\s|server_name)\b")
_NGINX_HOSTS = LazyRe(
    r"\b(?:proxy|fastcgi|uwsgi|scgi|grpc|memcached)_pass\s+(?:[a-z]+://)?([A-Za-z0-9_][\w.\-]*?)(?=[:;/\s]|$)"
    r"|^\s*server\s+([A-Za-z0-9_][\w.\-]*?)(?=[:;\s])"
    r"|://([A-Za-z0-9_][\w.\-]*?)(?=[:/;\s\"']|$)",
    re.M,
)
# In source code only host-shaped uses count: URLs, user@host, "host" strings, host:port, host=...
_STRONG = LazyRe(
    r"(?:://|@|['\"`]|host\w*\s*[=:]\s*['\"]?)([A-Za-z0-9_][\w\-]*(?:\.[\w\-]+)*)(?=:\d|['\"`/?]|[\s;,)\]}]|$)",
    re.I,
)


class HostnameMatcher:
    """Finds other services' hostnames in text by looking every name-shaped token up."""

    def __init__(self, hostnames: dict[str, str]):
        self.hostnames = hostnames

    def find(self, text: str, kind: str = "value") -> list[tuple[str, str]]:
        """(hostname as written, service) pairs found in a compose value, a config file or source."""
        if not text or not self.hostnames:
            return []
        rx = {"value": _LOOSE, "config": _CONFIG, "source": _STRONG}[kind]
        if kind == "config":
            text = _CONFIG_COMMENT.sub("", text)  # "# upstream db" in a comment is not a host
            if _NGINX_HINT.search(text):
                rx = _NGINX_HOSTS
        out = []
        get = self.hostnames.get
        for m in rx.finditer(text):
            word = m.group(m.lastindex or 1)
            svc = get(word.lower())
            if svc is None and word.endswith("."):
                svc = get(word.rstrip(".").lower())
            if svc:
                out.append((word, svc))
        return out


def _hostnames(project: Project, env: dict[str, str], alias_networks: dict[str, str]) -> dict[str, str]:
    names: dict[str, str] = {name.lower(): name for name in project.services}
    for name, svc in project.services.items():
        data = svc.data
        for key in ("container_name", "hostname"):
            v = untag(data.get(key))
            if isinstance(v, str) and v.strip():
                names.setdefault(interpolate(v, env).strip().lower(), name)
        nets = untag(data.get("networks"))
        if isinstance(nets, dict):
            for net, cfg in nets.items():
                cfg = untag(cfg)
                if isinstance(cfg, dict):
                    for alias in untag(cfg.get("aliases")) or []:
                        if isinstance(alias, str):
                            key = interpolate(alias, env).lower()
                            names.setdefault(key, name)
                            if key != name.lower():
                                alias_networks.setdefault(key, str(net))
        for link in untag(data.get("links")) or []:
            if isinstance(link, str) and ":" in link:
                target, alias = link.split(":", 1)
                if target in project.services:
                    names.setdefault(alias.lower(), target)
    return {k: v for k, v in names.items() if k}


# Variables whose value is an identifier, not a host: POSTGRES_DB=n8n names a database, not the
# service n8n. A URL or host:port in them still counts (the match then is not the whole value).
# A bare "DB" or "DATABASE" may well hold the database host, so those count only with a prefix.
_IDENTIFIER_KEY = re.compile(
    r"(?:^|_)(?:USER|USERNAME|NAME|PASSWORD|PASS|PWD|BUCKET|INDEX|TOPIC|QUEUE|REALM|ROLE)$"
    r"|_(?:DB|DATABASE|DBNAME|SCHEMA)$",
    re.I,
)


def _env_texts(variables: dict, where: str, env: dict[str, str]) -> list[tuple[str, str]]:
    """(where, value) of environment variables that may hold a hostname."""
    out: list[tuple[str, str]] = []
    for k, v in variables.items():
        if v is None:  # "- NAME" takes its value from the environment Compose reads (.env here)
            v = env.get(k)
        if v is None:
            continue
        v = str(v)
        if _IDENTIFIER_KEY.search(k) and re.fullmatch(r"[\w.\-]+", v.strip()):
            continue
        out.append((f"{where}{k}", v))
    return out


def _texts(data: dict, env: dict[str, str]) -> list[tuple[str, str]]:
    """(where, text) pairs of a service's own values that may name other services."""
    out = _env_texts(as_mapping(data.get("environment")), "environment ", env)
    out.extend(command_texts(data))
    for k, v in as_mapping(data.get("labels")).items():
        if v is not None:
            out.append((f"label {k}", str(v)))
    return out


def namespace_target(project: Project, data: dict) -> tuple[str, str] | None:
    """(kind, service) for ``network_mode: service:X`` / ``container:X`` pointing into the project."""
    mode = untag(data.get("network_mode"))
    if not isinstance(mode, str):
        return None
    if mode.startswith("service:"):
        target = mode[8:]
        return ("service", target) if target in project.services else None
    if mode.startswith("container:"):
        cname = mode[10:]
        for name, svc in project.services.items():
            if untag(svc.data.get("container_name")) == cname or name == cname:
                return "container", name
    return None


def analyse(project: Project, tiers: dict[str, Tier], reader: FileReader | None = None) -> Analysis:
    env = project.env
    a = Analysis(tiers=tiers)
    reader = reader or FileReader(project.directory)
    a.hostnames = _hostnames(project, env, a.alias_networks)
    matcher = HostnameMatcher(a.hostnames)
    services = project.services

    for name, svc in services.items():
        data = svc.data
        base = svc.defs[0].file.directory if svc.defs else svc.origin_dir or project.directory
        deps_on = untag(data.get("depends_on"))
        for d in (list(as_mapping(deps_on)) if deps_on else []):
            if d in services:
                a.add(name, d, "depends_on", "declared")
        for link in untag(data.get("links")) or []:
            target = str(link).split(":", 1)[0]
            if target in services:
                a.add(name, target, "links", "declared")
        ns = namespace_target(project, data)
        if ns:
            a.add(name, ns[1], f"network_mode {ns[0]}:{ns[1]}", "namespace")
        for t in untag(service_options(data).get("talks-to")) or []:
            if isinstance(t, str) and t in services:
                a.add(name, t, "x-compose-harden talks-to", "override")
        for where, text in _texts(data, env):
            for word, dst in matcher.find(interpolate(text, env)) + matcher.find(text):
                a.add(name, dst, f"{where} names '{word}'", "hostname", word)
        for path in env_files(data, base):
            where = f"env_file {os.path.relpath(path, project.directory)}: "
            for label, v in _env_texts(read_env_file_safe(path, reader) or {}, where, env):
                for word, dst in matcher.find(v):
                    a.add(name, dst, f"{label} names '{word}'", "hostname", word)
        for path, text in mounted_texts(reader, data, base, env):
            for word, dst in matcher.find(text, "config"):
                a.add(name, dst, f"mounted config {os.path.relpath(path, project.directory)} names '{word}'", "config", word)
        labels = as_mapping(data.get("labels"))
        tn = labels.get("traefik.docker.network")
        if isinstance(tn, str) and tn:
            a.traefik_network[name] = interpolate(tn, env)

    _proxies(project, a)
    _roles(project, a)
    _owners(project, a)
    _sources(project, a, reader, matcher)
    return a


def _proxies(project: Project, a: Analysis) -> None:
    proxies = [n for n, t in a.tiers.items() if "proxy-discovery" in t.flags]
    if not proxies:
        return
    for name, svc in project.services.items():
        labels = as_mapping(svc.data.get("labels"))
        envs = as_mapping(svc.data.get("environment"))
        why = None
        if any(k.startswith(PROXY_LABEL_PREFIXES) or k.startswith("virtual.") for k in labels):
            enabled = str(labels.get("traefik.enable", "true")).lower()
            why = "routed by labels" if enabled != "false" or any(k.startswith("caddy") for k in labels) else None
        if "VIRTUAL_HOST" in envs or "LETSENCRYPT_HOST" in envs:
            why = "routed by VIRTUAL_HOST"
        if why:
            for p in proxies:
                a.add(p, name, f"{why} of {name}", "proxy")


def _roles(project: Project, a: Analysis) -> None:
    """Admin tools reach data stores; exporters reach what they export; scrapers reach exporters."""
    data_stores = tuple(n for n, t in a.tiers.items() if t.tier == "data")
    by_family: dict[str, tuple[str, ...]] = {}
    for d in data_stores:
        fam = a.tiers[d].family
        if fam:
            by_family[fam] = by_family.get(fam, ()) + (d,)
    exporters = tuple(n for n, t in a.tiers.items() if "exporter" in t.flags)
    for name, t in a.tiers.items():
        if "admin" in t.flags:
            if any(d.kind == "config" for d in a.of(name)):
                continue  # its mounted configuration (datasources, servers.json) says what it reaches
            same = by_family.get(t.family or "", ())
            what = t.info.key if t.info else "admin"
            a.add_group(name, same or data_stores, f"admin tool ({what}) for {t.family if same else 'data stores'}", "role")
        if "exporter" in t.flags and t.family:
            a.add_group(name, by_family.get(t.family, ()), f"exporter for {t.family}", "role")
        if "scraper" in t.flags:
            a.add_group(name, exporters, "scrapes exporters", "role")


def _owners(project: Project, a: Analysis) -> None:
    for name in project.services:
        seen = {name}
        cur = name
        while True:
            ns = namespace_target(project, project.services[cur].data)
            if not ns or ns[1] in seen:
                break
            cur = ns[1]
            seen.add(cur)
        a.owner[name] = cur


def _sources(project: Project, a: Analysis, reader: FileReader, matcher: HostnameMatcher) -> None:
    data_stores = tuple(n for n, t in a.tiers.items() if t.tier == "data")
    for name, svc in project.services.items():
        ctx = build_context(svc.data)
        if ctx is None:
            continue
        base = svc.defs[0].file.directory if svc.defs else svc.origin_dir or project.directory
        scan = scan_context(reader, interpolate(ctx, project.env), base)
        for path, text in scan.files:
            for word, dst in matcher.find(text, "source"):
                if dst != name:
                    a.add(name, dst, f"source {os.path.relpath(path, project.directory)} names '{word}'", "source", word)
        uses_data = any(a.tiers.get(d) and a.tiers[d].tier == "data" for d in a.reaches(name))
        # Only application services are assumed to talk to data stores: a reverse proxy or web
        # server built from source is not given a path to the databases on a guess.
        if a.tiers[name].tier == "app" and not uses_data and scan.status != "scanned":
            why = {
                "missing": "its build context is not in the project",
                "partial": "its build context is too large to read whole",
                "remote": "its build context is remote",
            }[scan.status]
            if data_stores:
                a.assumed[name] = f"built from source and {why}: no evidence either way"
                a.add_group(name, data_stores, f"built from source, {why}: no evidence either way", "assumed")
