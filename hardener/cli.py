"""The ``compose-harden`` command line."""

from __future__ import annotations

import gc
import os
import signal
import sys

import click

from hardener import __version__
from hardener.discovery import projects_from_args
from hardener.errors import HardenError, UsageError
from hardener.pipeline import Result, harden_paths
from hardener.report import display_path, json_report, summary_lines, unified_diff
from hardener.source import DEFAULT_MAX_BYTES, read_source
from hardener.writer import write_files

EPILOG = """\b
Examples:
  compose-harden                      diff for ./compose.yaml (+ override), nothing written
  compose-harden --check .            one verdict per compose file under .
  compose-harden --write compose.yaml apply the fixes in place
  compose-harden -f compose.yaml -f compose.prod.yaml --diff
  cat compose.yaml | compose-harden --write -   hardened document on stdout
  compose-harden --format json . > report.json

\b
Exit status: 0 nothing to change and nothing found; 1 changes pending (--diff, --check)
or findings that need a human; 2 usage error or a file that could not be processed.
Allow host networking for a service with a comment on or above its network_mode line:
  network_mode: host  # compose-harden: allow host-network -- DHCP server for the LAN
"""


def _echo_err(line: str, quiet: bool) -> None:
    if not quiet:
        click.echo(line, err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, readable=False))
@click.option("--diff", "mode", flag_value="diff", default=True, help="Print a unified diff of the fixes (default; writes nothing).")
@click.option("--check", "mode", flag_value="check", help="Print one verdict line per file; no diff, nothing written.")
@click.option("--write", "mode", flag_value="write", help="Apply the fixes in place (atomically). With '-', print the hardened document.")
@click.option("-f", "--file", "files", multiple=True, type=click.Path(readable=False), help="Compose file of one project; repeat to merge files in order, like docker compose.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="json: a machine-readable report on stdout instead of diffs.")
@click.option("--max-size", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES, show_default=True, help="Refuse files larger than this many bytes.")
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
@click.version_option(__version__, "-V", "--version", prog_name="compose-harden")
def cli(paths: tuple[str, ...], mode: str, files: tuple[str, ...], fmt: str, max_size: int, quiet: bool) -> None:
    """Harden the networking of Docker Compose files.

    Puts services on per-tier networks (frontend, backend, data), makes networks that carry only
    data stores internal, and removes network_mode: host unless a reason is documented. PATH is a
    compose file, a directory (searched recursively) or '-' for standard input.
    """
    skipped: list[str] = []
    try:
        projects = projects_from_args(paths, files, dict(os.environ), skipped)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    for note in skipped:
        _echo_err(note, quiet)
    if sum(p.count("-") for p in projects) > 1:
        raise click.UsageError("'-' (standard input) can be given only once")
    results: list[Result] = []
    status = 0
    for paths_ in projects:
        stdin_source = None
        if "-" in paths_:
            try:
                stdin_source = read_source("-", max_size)
            except HardenError as exc:
                results.append(Result(paths_, error=exc))
                status = max(status, 2)
                _echo_err(f"error: {exc}", quiet)
                continue
        result = harden_paths(paths_, max_size, stdin_source)
        results.append(result)
        status = max(status, handle(result, mode, fmt, quiet))
    if fmt == "json":
        click.echo(json_report(results, mode, status))
    sys.exit(status)


def handle(result: Result, mode: str, fmt: str, quiet: bool) -> int:
    name = " + ".join(display_path(p) for p in result.paths)
    for line in summary_lines(result):
        _echo_err(line, quiet)
    if result.error is not None:
        if mode == "check" and fmt == "text":
            click.echo(f"error: {name}")
        return 2
    pending = result.changed_edits
    status = 1 if result.open_findings else 0
    if mode == "diff":
        if fmt == "text":
            for fe in pending:
                click.echo(unified_diff(display_path(fe.file.path), fe.file.source.text, fe.new_text, fe.splices), nl=False)
        return max(status, 1 if pending else 0)
    if mode == "check":
        if fmt == "text":
            if pending:
                click.echo(f"would harden {name}")
            elif result.open_findings:
                click.echo(f"findings in {name}")
            else:
                click.echo(f"ok {name}")
        return max(status, 1 if pending else 0)
    # write: every file of the project is prepared before the first is renamed
    on_disk = [fe for fe in pending if fe.file.source.real_path is not None]
    for fe in pending:
        if fe.file.source.real_path is None and fmt == "text":
            sys.stdout.buffer.write(fe.file.source.encode(fe.new_text))
            sys.stdout.flush()
    try:
        write_files([(fe.file.source, fe.file.source.encode(fe.new_text)) for fe in on_disk])
    except HardenError as exc:
        _echo_err(f"error: {exc}", quiet)
        result.error = exc
        return 2
    for fe in on_disk:
        _echo_err(f"hardened {display_path(fe.file.path)}", quiet)
    if not pending and "-" in result.paths and fmt == "text":
        f = result.files[0]
        sys.stdout.buffer.write(f.source.raw)
        sys.stdout.flush()
    return status


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the writer's cleanup (no temporary file left)


def main() -> None:
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
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
