"""The ``compose-harden`` command line."""

from __future__ import annotations

import gc
import os
import signal
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

from hardener import __version__, record
from hardener.exitpolicy import FAIL_ON, Outcome, default_fail_on, exit_status
from hardener.source import DEFAULT_MAX_BYTES

if TYPE_CHECKING:
    from hardener.config import Settings
    from hardener.discovery import Selection
    from hardener.pipeline import Result
    from hardener.terminal import Console

# What the command needs only once it runs is imported when it is first used, so that
# ``--version``, ``--help`` and a usage error do not load the YAML parser, the planner and the
# editor (start-up is the floor under every run).
_LAZY = {
    "ConfigError": "hardener.config", "Finder": "hardener.config",
    "projects_from_args": "hardener.discovery",
    "HardenError": "hardener.errors", "UsageError": "hardener.errors",
    "Result": "hardener.pipeline", "harden_paths": "hardener.pipeline",
    "display_path": "hardener.report", "summary_lines": "hardener.report", "file_diff": "hardener.report",
    "read_source": "hardener.source",
    "Console": "hardener.terminal",
    "write_files": "hardener.writer",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def _load() -> None:
    """Bind every lazily imported name (a name monkeypatched on the module is kept)."""
    for name in _LAZY:
        if name not in globals():
            __getattr__(name)

REPORT_FORMATS = ("json", "sarif", "markdown")

EPILOG = """\b
Examples:
  compose-harden                      diff for ./compose.yaml (+ override), nothing written
  compose-harden --check .            one verdict per compose file under .
  compose-harden --write compose.yaml apply the fixes in place
  compose-harden -f compose.yaml -f compose.prod.yaml --diff
  cat compose.yaml | compose-harden --write -   hardened document on stdout
  compose-harden --format sarif . > compose-harden.sarif
  compose-harden --write --fail-on error --format markdown . > pr-body.md
  compose-harden --explain host-network

\b
Exit status (--fail-on; default: change for --diff/--check, finding for --write):
  --fail-on   file not processed   finding for a human   changes (pending/written)
  never       0                    0                     0
  error       2                    0                     0
  finding     2                    1                     0
  change      2                    1                     1
Usage errors and bad configuration files exit 2. Acknowledged findings never fail.

\b
Allow host networking for a service with a comment on or above its network_mode line:
  network_mode: host  # compose-harden: allow host-network -- DHCP server for the LAN
Acknowledge a finding (a reason is required), on the service or at the top level:
  x-compose-harden: {accept: {data-published-port: "bound to 127.0.0.1 for backups"}}
"""


def _report_option(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for v in values:
        fmt, sep, path = v.partition(":")
        if not sep or fmt not in REPORT_FORMATS or not path:
            raise click.BadParameter(f"{v!r}: expected FORMAT:PATH with FORMAT one of {', '.join(REPORT_FORMATS)}")
        out.append((fmt, path))
    return out


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, readable=False))
@click.option("--diff", "mode", flag_value="diff", default=True, help="Print a unified diff of the fixes (default; writes nothing).")
@click.option("--check", "mode", flag_value="check", help="Print one verdict line per file and a total; no diff, nothing written.")
@click.option("--write", "mode", flag_value="write", help="Apply the fixes in place (atomically). With '-', print the hardened document.")
@click.option("-f", "--file", "files", multiple=True, type=click.Path(readable=False), help="Compose file of one project; repeat to merge files in order, like docker compose.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "markdown"]), default="text", show_default=True,
              help="Report on stdout: json (for bots), sarif (code scanning), markdown (a pull-request body); no diffs.")
@click.option("--report", "reports", multiple=True, metavar="FORMAT:PATH", callback=_report_option,
              help="Also write a json, sarif or markdown report of this run to PATH (repeatable).")
@click.option("--fail-on", type=click.Choice(FAIL_ON), default=None,
              help="What makes the exit status non-zero (see the table below).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Use this configuration file instead of searching upward for one.")
@click.option("--no-config", is_flag=True, help="Use no configuration file.")
@click.option("--show-config", is_flag=True, help="Print the configuration in effect for PATH (or the current folder) and exit.")
@click.option("--explain", metavar="RULE", help="Print the documentation of a rule and exit.")
@click.option("--list-rules", is_flag=True, help="List the rules and exit.")
@click.option("--color", "colour", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour diffs and verdicts (auto: on a terminal, unless NO_COLOR is set).")
@click.option("--egress-gateway", is_flag=True, default=None,
              help="Route outbound traffic through one egress gateway (a forward proxy the tool adds). Opt-in.")
@click.option("--egress-mode", type=click.Choice(["report", "enforce"]), default=None,
              help="With --egress-gateway: report (allow and log all but cloud metadata; default) or enforce (allow-list).")
@click.option("--max-size", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES, show_default=True, help="Refuse files larger than this many bytes.")
@click.option("-v", "--verbose", is_flag=True, help="With --check, print the full summary too.")
@click.option("-q", "--quiet", is_flag=True, help="No summary, notes or progress on stderr (errors are still printed).")
@click.version_option(__version__, "-V", "--version", prog_name="compose-harden")
def cli(paths: tuple[str, ...], mode: str, files: tuple[str, ...], fmt: str, reports: list[tuple[str, str]],
        fail_on: str | None, config_path: str | None, no_config: bool, show_config: bool, explain: str | None,
        list_rules: bool, colour: str, egress_gateway: bool | None, egress_mode: str | None, max_size: int,
        verbose: bool, quiet: bool) -> None:
    """Harden the networking of Docker Compose files.

    Puts services on per-tier networks (frontend, backend, data), makes networks that carry only
    data stores internal, and removes network_mode: host unless a reason is documented. PATH is a
    compose file, a directory (searched recursively) or '-' for standard input.
    """
    _load()
    console = Console(quiet=quiet, colour=colour)
    if list_rules:
        console.out_raw(_rule_list())
        sys.exit(0)
    if explain is not None:
        console.out_raw(_explanation(explain))
        sys.exit(0)
    finder = Finder(config_path, no_config)
    if show_config:
        target = (list(files) + [p for p in paths if p != "-"] + ["."])[0]
        try:
            console.out_raw(finder.for_path(target).as_yaml())
        except ConfigError as exc:
            console.error(str(exc))
            sys.exit(2)
        sys.exit(0)

    notes: list[str] = []
    try:
        projects = projects_from_args(paths, files, dict(os.environ), notes, max_size)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    for note in notes:
        console.err(note)
    if sum(p.paths.count("-") for p in projects) > 1:
        raise click.UsageError("'-' (standard input) can be given only once")
    todo: list[tuple[Selection, Settings]] = []
    for selection in projects:
        paths_ = selection.paths
        try:
            settings = finder.for_path(paths_[0])
        except ConfigError as exc:
            console.error(str(exc))
            sys.exit(2)
        if settings.excluded(paths_[0]):
            console.err(f"{' + '.join(display_path(p) for p in paths_)}: skipped (excluded by {settings.path})")
            continue
        if egress_gateway:
            settings = record.replace(settings, egress="gateway")
        if egress_mode:
            settings = record.replace(settings, egress_mode=egress_mode)
        todo.append((selection, settings))

    results: list[Result] = []
    outcomes: list[Outcome] = []
    for i, (selection, settings) in enumerate(todo):
        paths_ = selection.paths
        if len(todo) > 1:
            console.progress(i + 1, len(todo), " + ".join(display_path(p) for p in paths_))
        stdin_source = None
        if "-" in paths_:
            try:
                stdin_source = read_source("-", max_size)
            except HardenError as exc:
                result = Result(paths_, error=exc, settings=settings)
                results.append(result)
                outcomes.append(handle(result, mode, fmt, console, verbose))
                continue
        result = harden_paths(paths_, max_size, stdin_source, settings, selection.scope)
        results.append(result)
        outcomes.append(handle(result, mode, fmt, console, verbose))
    console.clear_progress()
    policy = fail_on or default_fail_on(mode)
    status = exit_status(outcomes, policy)
    if mode == "check" and fmt == "text" and outcomes:
        console.err(_total(outcomes))
    context = ReportContext(mode, status, paths, files, config_path, no_config)
    if fmt != "text":
        console.out_raw(render(fmt, results, context))
    for rfmt, rpath in reports:
        try:
            with open(rpath, "w", encoding="utf-8") as fh:
                fh.write(render(rfmt, results, context))
        except OSError as exc:
            console.error(f"{rpath}: cannot write the {rfmt} report: {exc.strerror or exc}")
            if policy != "never":
                status = 2
    sys.exit(status)


class ReportContext:
    """How the run was invoked, for reports that repeat it (the Markdown reproduce command)."""

    def __init__(self, mode: str, status: int, paths: tuple[str, ...], files: tuple[str, ...],
                 config: str | None, no_config: bool):
        self.mode = mode
        self.status = status
        self.paths = paths
        self.files = files
        self.config = config
        self.no_config = no_config

    def reproduce(self) -> str:
        import shlex

        args = ["compose-harden", "--diff"]
        if self.config:
            args += ["--config", self.config]
        if self.no_config:
            args.append("--no-config")
        for f in self.files:
            args += ["-f", f]
        args += list(self.paths)
        return shlex.join(args)


def render(fmt: str, results: list[Result], context: ReportContext) -> str:
    """A report; each format's module is imported only when it is asked for."""
    if fmt == "json":
        from hardener.report import json_report

        return json_report(results, context.mode, context.status) + "\n"
    if fmt == "sarif":
        from hardener.sarif import sarif_report

        return sarif_report(results, context.mode, context.status) + "\n"
    from hardener.markdown import markdown_report

    return markdown_report(results, context.mode, context.reproduce())


def handle(result: Result, mode: str, fmt: str, console: Console, verbose: bool) -> Outcome:
    name = " + ".join(display_path(p) for p in result.paths)
    if result.error is not None:
        console.error(str(result.error))
        if mode == "check" and fmt == "text":
            console.verdict("error:", name, "bold-red")
        return Outcome(error=True)
    if (mode != "check" or verbose) and not console.quiet:  # -q prints no summary: none is made
        for line in summary_lines(result):
            console.err(line)
    pending = result.changed_edits
    findings = len(result.open_findings)
    if mode == "diff":
        if fmt == "text":
            for fe in pending:
                console.diff(file_diff(fe))
        return Outcome(findings=findings, changes=bool(pending))
    if mode == "check":
        if fmt == "text":
            if pending:
                console.verdict("would harden", name, "yellow")
            elif findings:
                console.verdict("findings in", name, "red")
            else:
                console.verdict("ok", name, "green")
        return Outcome(findings=findings, changes=bool(pending))
    # write: every file of the project is prepared before the first is renamed
    on_disk = [fe for fe in pending if fe.file.source.real_path is not None]
    for fe in pending:
        if fe.file.source.real_path is None and fmt == "text":
            console.document(fe.file.source.encode(fe.new_text))
    try:
        done = write_files([(fe.file.source, fe.file.source.encode(fe.new_text)) for fe in on_disk])
    except HardenError as exc:
        console.error(str(exc))
        result.error = exc
        return Outcome(error=True)
    for fe, p in zip(on_disk, done):
        how = f" (written in place: {p.in_place})" if p.in_place else ""
        console.err(f"hardened {display_path(fe.file.path)}{how}")
    if not pending and "-" in result.paths and fmt == "text":
        console.document(result.files[0].source.raw)
    return Outcome(findings=findings, changes=bool(pending))


def _total(outcomes: list[Outcome]) -> str:
    counts = {"would be hardened": 0, "with findings": 0, "ok": 0, "could not be processed": 0}
    for o in outcomes:
        if o.error:
            counts["could not be processed"] += 1
        elif o.changes:
            counts["would be hardened"] += 1
        elif o.findings:
            counts["with findings"] += 1
        else:
            counts["ok"] += 1
    n = len(outcomes)
    parts = [f"{v} {k}" for k, v in counts.items() if v]
    return f"{n} project{'s' if n != 1 else ''} checked: " + ", ".join(parts)


def _rule_list() -> str:
    from hardener.rules import registry

    rules = registry().values()
    width = max(len(r.id) for r in rules)
    lines = [f"{'RULE':<{width}}  SEVERITY  FIXED      TITLE"]
    lines += [f"{r.id:<{width}}  {r.severity:<8}  {r.fix:<9}  {r.title}" for r in rules]
    return "\n".join(lines) + "\n"


def _explanation(rule_id: str) -> str:
    from hardener.rules import FIX_TEXT, registry

    rule = registry().get(rule_id)
    if rule is None:
        raise click.UsageError(f"unknown rule '{rule_id}'; compose-harden --list-rules lists them")
    return (f"{rule.id}: {rule.title}\n"
            f"severity: {rule.severity}; fixed by the tool: {FIX_TEXT[rule.fix]}\n\n{rule.doc}\n")


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the writer's cleanup (no temporary file left)


def main() -> None:
    if sys.argv[1:2] == ["probe"]:  # the runtime proof has a command line of its own
        from hardener.probe.cli import main as probe_main

        return probe_main(sys.argv[2:])
    # A short-lived process that builds many small objects and frees them all at exit: the
    # cyclic garbage collector only costs time here (about a third at 2,000 services).
    gc.disable()
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _terminate)
    try:
        cli(prog_name="compose-harden", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        _leave(130)
    except click.ClickException as exc:
        exc.show()
        _leave(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        _leave(130)
    except SystemExit as exc:
        _leave(exc.code)
    _leave(0)


def _leave(code: object) -> NoReturn:
    """End the process once its output is flushed, without the interpreter's teardown: freeing
    every object of a run one by one is about 4% of a corpus run and changes nothing (mypy ends
    the same way). Every file the run wrote is closed by then. A status that is not a number,
    or output that cannot be flushed (a closed pipe), takes the ordinary exit, which reports it."""
    if code is None:
        code = 0
    if not isinstance(code, int):
        raise SystemExit(code)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: started with that stream closed (">&-")
                stream.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    os._exit(code)
