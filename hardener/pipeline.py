"""One project through the pipeline: load -> analyse -> plan -> edit -> verify.

Nothing here writes or prints; the command line decides what to do with the result.
"""

from __future__ import annotations

from hardener.acknowledge import file_accepts, fixes_turned_off, review
from hardener.classify import classify_all
from hardener.config import DEFAULTS, Settings
from hardener.compose import ComposeFile, build_project, load_file, parse_source
from hardener.evidence import Analysis, analyse
from hardener.edit import EditError, FileEdit, RouteError, realise
from hardener.errors import HardenError, InputError, VerifyError
from hardener.fsutil import forget_folders
from hardener.plan import Finding, Plan, make_plan
from hardener.record import field, record
from hardener.scan import FileReader
from hardener.textedit import EditConflict
from hardener.source import DEFAULT_MAX_BYTES, Source
from hardener.validate import check_project
from hardener.verify import verify


@record
class Result:
    """One project through the pipeline: its files, plan, edits, or the error that stopped it."""

    paths: list[str]
    files: list[ComposeFile] = field(default_factory=list)
    plan: Plan | None = None
    edits: list[FileEdit] = field(default_factory=list)
    error: HardenError | None = None
    reparsed: dict[str, ComposeFile] = field(default_factory=dict)  # path -> edited file, as verified
    settings: Settings = DEFAULTS

    @property
    def changed_edits(self) -> list[FileEdit]:
        return [e for e in self.edits if e.changed]

    @property
    def findings(self) -> list[Finding]:
        return self.plan.findings if self.plan else []

    @property
    def open_findings(self) -> list[Finding]:
        """Findings that need a human (not fixed, not mere notes, not acknowledged): they make the
        exit status 1."""
        return [f for f in self.findings if not f.fixed and not f.note and f.acknowledged is None]

    @property
    def notes(self) -> list[Finding]:
        """Informational findings (severity note): what was kept because it could not be verified."""
        return [f for f in self.findings if not f.fixed and f.note and f.acknowledged is None]

    @property
    def acknowledged_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.acknowledged is not None]

    @property
    def analysis(self) -> Analysis | None:
        return self.plan.analysis if self.plan else None


def harden_files(files: list[ComposeFile], max_bytes: int = DEFAULT_MAX_BYTES,
                 settings: Settings | None = None) -> Result:
    forget_folders()  # folders' real paths are remembered for one project (hardener.fsutil)
    return _harden(files, max_bytes, settings)


def _harden(files: list[ComposeFile], max_bytes: int, settings: Settings | None) -> Result:
    settings = settings or DEFAULTS
    result = Result([f.path for f in files], files, settings=settings)
    try:
        reader = FileReader(files[0].directory)
        project = build_project(files, max_bytes, reader=reader)
        check_project(project)  # refused as Compose refuses it
        accepted = file_accepts(files) + list(settings.accepts)
        tiers = classify_all(project.services, project.env, reader, settings)
        analysis = analyse(project, tiers, reader)
        # A service whose change cannot be written into its file's shape (an anchor other keys
        # alias, a multi-line flow list with comments) is left as it is, and the rest planned again.
        # So is a service whose fix the configuration turns off or a finding acknowledges.
        blocked: dict[str, str] = {}
        unrouted: dict[str, str] = {}  # services whose proxy variables cannot be written
        waived: dict[str, list[Finding]] = {}
        while True:
            plan = make_plan(project, analysis, blocked, settings, unrouted)
            result.plan = plan
            turned_off = fixes_turned_off(plan.findings, settings, accepted, blocked)
            if turned_off:
                for finding, why in turned_off:
                    blocked[finding.service] = why  # type: ignore[index]
                    waived.setdefault(finding.service, []).append(finding)  # type: ignore[arg-type]
                continue
            try:
                edits = realise(plan) if plan.changed else []
            except (EditError, EditConflict) as exc:
                service = getattr(exc, "service", None)
                if isinstance(exc, RouteError) and service and service not in unrouted:
                    unrouted[service] = str(exc)  # not routed through the gateway; hardened all the same
                    continue
                if service and service not in blocked and len(blocked) < len(project.services):
                    blocked[service] = str(exc)
                    continue
                raise
            break
        plan.findings = review(plan.findings, settings, accepted, waived)
        result.reparsed = verify(plan, edits, max_bytes)
        result.edits = edits
    except (EditError, EditConflict) as exc:
        result.error = VerifyError(files[0].path, f"cannot apply the fix: {exc}; file left untouched")
    except HardenError as exc:
        result.error = exc
    return result


def harden_paths(paths: list[str], max_bytes: int = DEFAULT_MAX_BYTES, stdin: Source | None = None,
                 settings: Settings | None = None, scope: str | None = None) -> Result:
    """Load and harden one project; ``stdin`` is the already-read source for the path "-";
    ``scope``: the folder searched (folder mode), which every file must stay inside."""
    forget_folders()  # before the files are read: reading them resolves their folders
    files: list[ComposeFile] = []
    try:
        for i, p in enumerate(paths):
            files.append(parse_source(stdin, layer=i > 0) if p == "-" and stdin else
                         load_file(p, max_bytes, layer=i > 0, scope=scope))
    except InputError as exc:
        return Result(paths, files, error=exc, settings=settings or DEFAULTS)
    return _harden(files, max_bytes, settings)
