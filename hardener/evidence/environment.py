"""Hostnames of other services in a service's own values: environment variables, ``env_file``
files, ``command``, ``entrypoint``, healthchecks and labels.

A variable whose value is an identifier (``POSTGRES_DB=mattermost``, ``REDIS_PASSWORD=...``)
names a database or a secret, not a host; a URL's path and query (``http://api/live``) are not
hosts either.
"""

from __future__ import annotations

import os
import re

from hardener.compose import Project, as_mapping, command_texts
from hardener.evidence.hostnames import HostnameMatcher
from hardener.evidence.model import Analysis
from hardener.interpolate import interpolate
from hardener.scan import FileReader, env_files, read_env_file_safe
from hardener.show import clip

# Variables whose value is an identifier, not a host: POSTGRES_DB=n8n names a database, not the
# service n8n. A URL or host:port in them still counts (the match then is not the whole value).
# A bare "DB" or "DATABASE" may well hold the database host, so those count only with a prefix.
_IDENTIFIER_KEY = re.compile(
    r"(?:^|_)(?:USER|USERNAME|NAME|PASSWORD|PASS|PWD|SECRET|TOKEN|KEY|BUCKET|INDEX|TOPIC|QUEUE|REALM|ROLE|PATH|DIR|FILE)$"
    r"|_(?:DB|DATABASE|DBNAME|SCHEMA)$",
    re.I,
)
_BARE = re.compile(r"[\w.\-]+")


def variable_values(variables: dict, env: dict[str, str]) -> list[tuple[str, str]]:
    """(name, value as written) of environment variables: ``- NAME`` without a value takes it
    from the environment Compose reads (the project's .env here); one set nowhere is left out."""
    out: list[tuple[str, str]] = []
    for k, v in variables.items():
        if v is None:
            v = env.get(k)
        if v is not None:
            out.append((str(k), str(v)))
    return out


def env_texts(variables: dict, where: str, env: dict[str, str]) -> list[tuple[str, str]]:
    """(where, value) of environment variables that may hold a hostname."""
    out: list[tuple[str, str]] = []
    for k, v in variable_values(variables, env):
        if _IDENTIFIER_KEY.search(k) and _BARE.fullmatch(interpolate(v, env).strip()):
            continue
        out.append((f"{where}{k}", v))
    return out


def service_texts(data: dict, env: dict[str, str]) -> list[tuple[str, str]]:
    """(where, text) pairs of a service's own values that may name other services."""
    out = env_texts(as_mapping(data.get("environment")), "environment ", env)
    out.extend(command_texts(data))
    for k, v in as_mapping(data.get("labels")).items():
        if v is not None:
            out.append((f"label {k}", str(v)))
    return out


def collect(project: Project, a: Analysis, reader: FileReader, matcher: HostnameMatcher) -> None:
    env = project.env
    for name, svc in project.services.items():
        data = svc.data
        for where, text in service_texts(data, env):
            resolved = interpolate(text, env)
            found = matcher.find(resolved) + (matcher.find(text) if resolved != text else [])
            for word, dst in found:
                a.add(name, dst, f"{where} names '{clip(word)}'", "hostname", word)
        base = service_base(project, name)
        for path in env_files(data, base):
            where = f"env_file {os.path.relpath(path, project.directory)}: "
            for label, v in env_texts(read_env_file_safe(path, reader) or {}, where, env):
                for word, dst in matcher.find(interpolate(v, env)):
                    a.add(name, dst, f"{label} names '{clip(word)}'", "hostname", word)


def service_base(project: Project, name: str) -> str:
    """The folder a service's relative paths are relative to."""
    svc = project.services[name]
    return svc.defs[0].file.directory if svc.defs else svc.origin_dir or project.directory
