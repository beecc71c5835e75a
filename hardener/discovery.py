"""Which files form which projects.

* a file argument is a project of its own (like ``docker compose -f FILE``);
* a directory is searched recursively for compose files (skipping .git and node_modules); in
  each folder a default file (compose.yaml, ...) and its override file form one project, and
  every other variant (``compose.prod.yaml``, ``docker-compose.dev.yml``) is a project of its own;
* ``-f/--file`` (repeatable) makes one project of the files given, merged in order;
* with no argument, ``COMPOSE_FILE`` (separated by ``COMPOSE_PATH_SEPARATOR`` or ``os.pathsep``) or the default file of the
  current directory with its override, as Docker Compose does.
"""

from __future__ import annotations

import os
import re

from hardener.errors import UsageError

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDES = {
    "compose.yaml": ("compose.override.yaml", "compose.override.yml"),
    "compose.yml": ("compose.override.yml", "compose.override.yaml"),
    "docker-compose.yaml": ("docker-compose.override.yaml", "docker-compose.override.yml"),
    "docker-compose.yml": ("docker-compose.override.yml", "docker-compose.override.yaml"),
}
COMPOSE_NAME = re.compile(r"^(?:docker-)?compose(?:\.[^/]+)?\.ya?ml$")
SKIP_DIRS = frozenset({".git", "node_modules"})


def default_project(directory: str) -> list[str] | None:
    for name in DEFAULT_FILES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            files = [path]
            for o in OVERRIDES[name]:
                op = os.path.join(directory, o)
                if os.path.isfile(op):
                    files.append(op)
                    break
            return files
    return None


def _rel(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def search_directory(directory: str) -> list[list[str]]:
    projects: list[list[str]] = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        names = sorted(f for f in filenames if COMPOSE_NAME.match(f))
        if not names:
            continue
        grouped: set[str] = set()
        default = default_project(dirpath)
        if default:
            projects.append([_rel(p) if not os.path.isabs(directory) else p for p in default])
            grouped.update(os.path.basename(p) for p in default)
        for n in names:
            if n not in grouped:
                path = os.path.join(dirpath, n)
                projects.append([_rel(path) if not os.path.isabs(directory) else path])
    return projects


def projects_from_args(paths: tuple[str, ...], files: tuple[str, ...], environ: dict[str, str]) -> list[list[str]]:
    projects: list[list[str]] = []
    if files:
        projects.append(list(files))
    for p in paths:
        if p == "-":
            projects.append(["-"])
        elif os.path.isdir(p):
            found = search_directory(p)
            if not found:
                raise UsageError(f"{p}: no compose file found in this directory")
            projects.extend(found)
        else:
            projects.append([p])
    if projects:
        return projects
    env_files = environ.get("COMPOSE_FILE")
    if env_files:
        sep = environ.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
        return [[f for f in env_files.split(sep) if f]]
    default = default_project(".")
    if default is None:
        raise UsageError(
            "no compose file found in the current directory (looked for " + ", ".join(DEFAULT_FILES) + "); "
            "give a PATH, -f FILE or set COMPOSE_FILE"
        )
    return [[os.path.relpath(p) for p in default]]
