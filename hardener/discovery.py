"""Which files form which projects, as Docker Compose runs them.

* a file argument is a project of its own (like ``docker compose -f FILE``);
* ``-f/--file`` (repeatable) makes one project of the files given, merged in order;
* with no argument, ``COMPOSE_FILE`` (separated by ``COMPOSE_PATH_SEPARATOR`` or ``os.pathsep``)
  or the default file of the current directory with its override, as Docker Compose does;
* a directory is searched recursively (folder mode):

  - one rule decides which paths the tool may read or write there (:func:`in_scope`): a regular
    file whose real path, links resolved, is inside the folder searched. It is applied when the
    files are selected and again when each file is read, so a link leading out of the tree is
    never read or written, whatever name points at it (the default file and its override too);
  - every compose-like name is a candidate (``compose.yaml``, ``docker-compose-dev.yml``,
    ``compose.prod.yaml``, ``compose_components.yaml``, ``docker-compose_v3_alpine_mysql.yaml``);
    vendored and third-party trees (``vendor/``, ``third_party/``, ``node_modules/``,
    ``.venv/``, ``site-packages/``...) are not searched, and one line says what was skipped;
  - in each folder the default file and its override form the base project, and every file
    that only adds to or overrides its services (no service with an image, a build or an
    extends of its own, or naming services of the base) is merged into it, as
    ``docker compose -f base -f overlay`` runs it: its plan is never computed without its base,
    and the base's plan keeps what the overlays need;
  - a file that other files ``extends`` services from (a component file) is not a project; an
    empty or comment-only file has nothing to harden; every other file is a project of its own.
"""

from __future__ import annotations

import os
import re

from hardener.compose import ComposeFile, load_file, untag
from hardener.errors import EmptyInput, InputError, UsageError
from hardener.fsutil import in_scope, scope_problem
from hardener.record import record
from hardener.source import DEFAULT_MAX_BYTES

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDES = {
    "compose.yaml": ("compose.override.yaml", "compose.override.yml"),
    "compose.yml": ("compose.override.yml", "compose.override.yaml"),
    "docker-compose.yaml": ("docker-compose.override.yaml", "docker-compose.override.yml"),
    "docker-compose.yml": ("docker-compose.override.yml", "docker-compose.override.yaml"),
}
# compose.yaml, docker-compose-dev.yml, compose.prod.yaml, compose_components.yaml,
# docker-compose_v3_alpine_mysql.yaml, prod.compose.yml, Docker-Compose.yml (not composer.yaml,
# not hidden files such as the tool's own .compose-harden.yaml)
COMPOSE_NAME = re.compile(r"^(?:[^.].*[._-])?(?:docker[-_]?)?compose(?:[._-].*)?\.ya?ml$", re.IGNORECASE)
# Vendored and third-party code, tool caches and version control: never searched.
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "bower_components", "vendor", "third_party", "third-party",
    "thirdparty", ".venv", "venv", "site-packages", "dist-packages", "__pycache__", ".tox", ".terraform",
})

QUIET_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__"})  # skipped without a word


@record
class Selection:
    """One project: its files, merged in order, and the folder searched (None outside folder
    mode), which every file of the project must stay inside."""

    paths: list[str]
    scope: str | None = None


def default_project(directory: str, admitted=os.path.isfile) -> list[str] | None:
    """The default file of a folder and its override, as Compose picks them."""
    for name in DEFAULT_FILES:
        path = os.path.join(directory, name)
        if admitted(path):
            files = [path]
            for o in OVERRIDES[name]:
                op = os.path.join(directory, o)
                if admitted(op):
                    files.append(op)
                    break
            return files
    return None


@record
class _Candidate:
    """A compose file found in folder mode, read to see which project it belongs to."""

    path: str  # as shown
    file: ComposeFile | None = None
    empty: bool = False  # no YAML document (empty, or only comments)

    def services(self) -> dict:
        if self.file is None:
            return {}
        services = untag(self.file.data.get("services"))
        return services if isinstance(services, dict) else {}

    def extends_files(self) -> list[str]:
        """Real paths of the files its services extend."""
        out = []
        for svc in self.services().values():
            ext = untag(untag(svc).get("extends")) if isinstance(untag(svc), dict) else None
            f = untag(ext.get("file")) if isinstance(ext, dict) else None
            if isinstance(f, str) and f:
                out.append(os.path.realpath(os.path.join(os.path.dirname(self.path), f)))
        return out


def _complete(svc) -> bool:
    """Can this service definition run on its own (an image, a build or an extends)?"""
    svc = untag(svc)
    return isinstance(svc, dict) and bool({"image", "build", "extends"} & set(svc))


def _alternative_to(c: _Candidate, group_services: dict[str, bool], base_services: set[str]) -> bool:
    """Is this file an alternative to the base project rather than a part of it? It runs on its
    own (every service complete) and builds every service with ``extends`` (a variant made of
    components), or defines every service of the base anew (a production copy of the file), or
    gives a complete definition of a service that another file of the group also defines
    completely (a variant of a variant). Anything else beside a default file is merged with it:
    an override file (services that cannot run alone, or that redefine some of the base's
    services), or a file that adds services (observability, extra tools) -- merging those is safe
    even when they are run on their own, since the plan keeps every connection among their
    services."""
    services = {str(n): s for n, s in c.services().items()}
    if not services or not all(_complete(s) for s in services.values()):
        return False
    if all("extends" in untag(s) for s in services.values()):
        return True  # a variant built from components (extends): hardened on its own
    if base_services and base_services <= set(services):
        return True
    return any(group_services.get(n) and "extends" not in untag(s) for n, s in services.items())


def _overlay_of(c: _Candidate) -> bool:
    """An override file: one of its services cannot run alone (no image, build or extends)."""
    return c.file is not None and any(not _complete(s) for s in c.services().values())


class _Search:
    def __init__(self, directory: str, max_bytes: int):
        self.directory = directory
        self.max_bytes = max_bytes
        self.shown_abs = os.path.isabs(directory)
        self.skipped_dirs: list[str] = []
        self.skipped_files: list[str] = []
        self.notes: list[str] = []

    def show(self, path: str) -> str:
        if self.shown_abs:
            return path
        rel = os.path.relpath(path)
        return path if rel.startswith("..") else rel

    def admitted(self, path: str) -> bool:
        return in_scope(path, self.directory)

    def load(self, path: str) -> _Candidate:
        c = _Candidate(self.show(path))
        try:
            c.file = load_file(path, self.max_bytes, scope=self.directory)
        except EmptyInput:
            c.empty = True
        except InputError:
            pass  # reported when the file is processed as a project of its own
        return c

    def run(self) -> list[Selection]:
        folders: list[tuple[str, list[str]]] = []
        for dirpath, dirnames, filenames in os.walk(self.directory):
            kept = []
            for d in sorted(dirnames):
                full = os.path.join(dirpath, d)
                if d in SKIP_DIRS:
                    if d not in QUIET_SKIP_DIRS:
                        self.skipped_dirs.append(self.show(full) + "/")
                elif os.path.islink(full) and not in_scope(full, self.directory, dirs=True):
                    self.skipped_files.append(f"{self.show(full)}/ ({scope_problem(full, self.directory)})")
                else:
                    kept.append(d)
            dirnames[:] = kept
            names = []
            for f in sorted(filenames):
                if not COMPOSE_NAME.match(f):
                    continue
                full = os.path.join(dirpath, f)
                if self.admitted(full):
                    names.append(f)
                else:
                    self.skipped_files.append(f"{self.show(full)} ({scope_problem(full, self.directory)})")
            if names:
                folders.append((dirpath, names))
        loaded = {(d, n): self.load(os.path.join(d, n)) for d, names in folders for n in names}
        extended: dict[str, list[str]] = {}  # real path of a component file -> files extending it
        for c in loaded.values():
            for f in c.extends_files():
                extended.setdefault(f, []).append(c.path)
        projects: list[Selection] = []
        for dirpath, names in folders:
            projects.extend(self.folder(dirpath, names, loaded, extended))
        return projects

    def folder(self, dirpath: str, names: list[str], loaded: dict, extended: dict) -> list[Selection]:
        default = default_project(dirpath, lambda p: os.path.basename(p) in names)
        base = [loaded[(dirpath, os.path.basename(p))] for p in default or []]
        base_services = {str(n) for c in base for n in c.services()}
        group: dict[str, bool] = {}  # services of the base group -> completely defined there
        for c in base:
            for n, svc in c.services().items():
                group[str(n)] = group.get(str(n), False) or _complete(svc)
        overlays: dict[int, list[_Candidate]] = {}  # id(first file of a project) -> files merged into it
        own: list[_Candidate] = []
        orphans: list[_Candidate] = []
        for n in names:
            c = loaded[(dirpath, n)]
            if default and os.path.join(dirpath, n) in default:
                continue
            users = extended.get(os.path.realpath(os.path.join(dirpath, n)))
            if c.empty:
                self.notes.append(f"{c.path}: empty (no YAML document, only comments): nothing to harden")
            elif users:
                self.notes.append(f"{c.path}: not a project of its own: it provides services that "
                                  f"{', '.join(sorted(set(users)))} extend")
            elif c.file is None:
                own.append(c)  # it could not be read: the error is reported when it is processed
            elif base and not _alternative_to(c, group, base_services):
                overlays.setdefault(id(base[0]), []).append(c)
                for sn, svc in c.services().items():
                    group[str(sn)] = group.get(str(sn), False) or _complete(svc)
            elif not base and _overlay_of(c):
                orphans.append(c)  # an override file with no default file beside it
            else:
                own.append(c)
        for c in orphans:  # merged with the one complete file of the folder whose services it names
            named = {str(n) for n in c.services()}
            bases = [o for o in own if named & {str(n) for n in o.services()}]
            if len(bases) == 1:
                overlays.setdefault(id(bases[0]), []).append(c)
            else:
                self.notes.append(f"{c.path}: skipped, an override file with no base file beside it "
                                  f"(a service has no image and no build): harden it together with its base: "
                                  f"-f BASE -f {c.path}")
        projects: list[Selection] = []
        for first in ([base] if base else []) + [[c] for c in own]:
            added = overlays.get(id(first[0]), [])
            files = [c.path for c in first + added]
            if added:
                self.notes.append(
                    f"{', '.join(c.path for c in added)}: run{'s' if len(added) == 1 else ''} with {first[0].path} "
                    f"(adding to or overriding its services): hardened together, as docker compose "
                    + " ".join(f"-f {p}" for p in files) + " runs them"
                )
            projects.append(Selection(files, self.directory))
        return projects

    def skip_line(self) -> str | None:
        parts = []
        if self.skipped_dirs:
            shown = sorted(self.skipped_dirs)[:6]
            more = f" and {len(self.skipped_dirs) - 6} more" if len(self.skipped_dirs) > 6 else ""
            parts.append(f"{', '.join(shown)}{more} (vendored or third-party code)")
        if self.skipped_files:
            parts.append(", ".join(self.skipped_files))
        return "skipped: " + "; ".join(parts) if parts else None


def search_directory(directory: str, notes: list[str] | None = None,
                     max_bytes: int = DEFAULT_MAX_BYTES) -> list[Selection]:
    search = _Search(directory, max_bytes)
    projects = search.run()
    if notes is not None:
        line = search.skip_line()
        notes.extend(([line] if line else []) + search.notes)
    return projects


def projects_from_args(
    paths: tuple[str, ...], files: tuple[str, ...], environ: dict[str, str], notes: list[str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[Selection]:
    projects: list[Selection] = []
    if files:
        projects.append(Selection(list(files)))
    for p in paths:
        if p == "-":
            projects.append(Selection(["-"]))
        elif os.path.isdir(p):
            found = search_directory(p, notes, max_bytes)
            if not found:
                raise UsageError(f"{p}: no compose file found in this directory")
            projects.extend(found)
        else:
            projects.append(Selection([p]))
    if projects:
        return projects
    env_files = environ.get("COMPOSE_FILE")
    if env_files:
        sep = environ.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
        return [Selection([f for f in env_files.split(sep) if f])]
    default = default_project(".")
    if default is None:
        raise UsageError(
            "no compose file found in the current directory (looked for " + ", ".join(DEFAULT_FILES) + "); "
            "give a PATH, -f FILE or set COMPOSE_FILE"
        )
    return [Selection([os.path.relpath(p) for p in default])]
