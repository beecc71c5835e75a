"""One project through the pipeline: load -> analyse -> plan -> edit -> verify.

Nothing here writes or prints; the command line decides what to do with the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hardener.classify import classify_all
from hardener.compose import ComposeFile, build_project, load_file, parse_source
from hardener.evidence import Analysis, analyse
from hardener.edit import EditError, FileEdit, realise
from hardener.errors import HardenError, InputError, VerifyError
from hardener.plan import Finding, Plan, make_plan
from hardener.scan import FileReader
from hardener.textedit import EditConflict
from hardener.source import DEFAULT_MAX_BYTES, Source
from hardener.verify import verify


@dataclass
class Result:
    paths: list[str]
    files: list[ComposeFile] = field(default_factory=list)
    plan: Plan | None = None
    edits: list[FileEdit] = field(default_factory=list)
    error: HardenError | None = None
    reparsed: dict[str, ComposeFile] = field(default_factory=dict)  # path -> edited file, as verified

    @property
    def changed_edits(self) -> list[FileEdit]:
        return [e for e in self.edits if e.changed]

    @property
    def findings(self) -> list[Finding]:
        return self.plan.findings if self.plan else []

    @property
    def open_findings(self) -> list[Finding]:
        """Findings that need a human (not fixed, and not mere notes): they make the exit status 1."""
        return [f for f in self.findings if not f.fixed and not f.note]

    @property
    def notes(self) -> list[Finding]:
        """Informational findings (severity note): what was kept because it could not be verified."""
        return [f for f in self.findings if not f.fixed and f.note]

    @property
    def analysis(self) -> Analysis | None:
        return self.plan.analysis if self.plan else None


def harden_files(files: list[ComposeFile], max_bytes: int = DEFAULT_MAX_BYTES) -> Result:
    result = Result([f.path for f in files], files)
    try:
        project = build_project(files, max_bytes)
        reader = FileReader(project.directory)
        tiers = classify_all(project.services, project.env, reader)
        analysis = analyse(project, tiers, reader)
        # A service whose change cannot be written into its file's shape (an anchor other keys
        # alias, a multi-line flow list with comments) is left as it is, and the rest planned again.
        blocked: dict[str, str] = {}
        while True:
            plan = make_plan(project, analysis, blocked)
            result.plan = plan
            try:
                edits = realise(plan) if plan.changed else []
            except (EditError, EditConflict) as exc:
                service = getattr(exc, "service", None)
                if service and service not in blocked and len(blocked) < len(project.services):
                    blocked[service] = str(exc)
                    continue
                raise
            break
        result.reparsed = verify(plan, edits, max_bytes)
        result.edits = edits
    except (EditError, EditConflict) as exc:
        result.error = VerifyError(files[0].path, f"cannot apply the fix: {exc}; file left untouched")
    except HardenError as exc:
        result.error = exc
    return result


def harden_paths(paths: list[str], max_bytes: int = DEFAULT_MAX_BYTES, stdin: Source | None = None) -> Result:
    """Load and harden one project; ``stdin`` is the already-read source for the path "-"."""
    files: list[ComposeFile] = []
    try:
        for p in paths:
            files.append(parse_source(stdin) if p == "-" and stdin else load_file(p, max_bytes))
    except InputError as exc:
        return Result(paths, files, error=exc)
    return harden_files(files, max_bytes)
