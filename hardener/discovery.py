"""Which files form which projects.

* a file argument is a project of its own (like ``docker compose -f FILE``);
* a directory is searched recursively for compose files (skipping .git and node_modules, pipes,
  and links that lead out of the tree); in each folder a default file (compose.yaml, ...) and its
  override file form one project, and every other variant (``compose.prod.yaml``) is a project of
  its own -- unless it is an override-style file for the default file next to it (no service
  with an image or a build), which is skipped with a note (harden it with ``-f base -f it``);
* ``-f/--file`` (repeatable) makes one project of the files given, merged in order;
* with no argument, ``COMPOSE_FILE`` (separated by ``COMPOSE_PATH_SEPARATOR`` or ``os.pathsep``) or the default file of the
  current directory with its override, as Docker Compose does.
"""

from __future__ import annotations

import os
import re

from hardener.compose import load_file, untag
from hardener.errors import InputError, UsageError
from hardener.fsutil import inside
from hardener.source import DEFAULT_MAX_BYTES

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


def _regular_inside(path: str, root: str) -> bool:
    """A regular file whose real path stays inside the searched tree (no pipe, no link out)."""
    return os.path.isfile(path) and inside(path, root)


def is_partial(path: str) -> bool:
    """An override-style file: it has services, and none of them has an image, a build or an
    extends of its own (``compose.prod.yaml`` meant for ``-f compose.yaml -f compose.prod.yaml``)."""
    try:
        cf = load_file(path, DEFAULT_MAX_BYTES)
    except InputError:
        return False  # reported when it is processed
    services = untag(cf.data.get("services"))
    if not isinstance(services, dict) or not services:
        return False
    return not any(
        isinstance(untag(s), dict) and {"image", "build", "extends"} & set(untag(s)) for s in services.values()
    )


def search_directory(directory: str, skipped: list[str] | None = None) -> list[list[str]]:
    projects: list[list[str]] = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        names = sorted(
            f for f in filenames if COMPOSE_NAME.match(f) and _regular_inside(os.path.join(dirpath, f), directory)
        )
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
                shown = _rel(path) if not os.path.isabs(directory) else path
                if default and is_partial(path):
                    if skipped is not None:
                        skipped.append(
                            f"{shown}: skipped, an override file (no service has an image or a build); harden it "
                            f"together with its base: -f {_rel(default[0]) if not os.path.isabs(directory) else default[0]} -f {shown}"
                        )
                    continue
                projects.append([shown])
    return projects


def projects_from_args(
    paths: tuple[str, ...], files: tuple[str, ...], environ: dict[str, str], skipped: list[str] | None = None
) -> list[list[str]]:
    projects: list[list[str]] = []
    if files:
        projects.append(list(files))
    for p in paths:
        if p == "-":
            projects.append(["-"])
        elif os.path.isdir(p):
            found = search_directory(p, skipped)
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
