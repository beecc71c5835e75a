"""The ``compose-harden probe`` command."""

from __future__ import annotations

import os
import sys
import tempfile

import click

from hardener.discovery import default_project

EPILOG = """\b
Examples:
  compose-harden probe                          the project of the current folder
  compose-harden probe --compare .              before and after the proposed hardening
  compose-harden probe -f compose.yaml -f compose.prod.yaml --format json
  compose-harden probe --image standin --pull never   a local stand-in image, no registry

\b
Needs root on a Linux Docker host (it creates a network namespace as its outside test host).
Exit status: 0 probed; 1 (--compare) a dependency that connected before does not after;
2 usage error, or the probe could not run (no engine, Compose refused the project).
"""


def _project(path: str | None, files: tuple[str, ...], directory: str | None) -> tuple[list[str], str]:
    if files and path:
        raise click.UsageError("give either PATH or -f FILE, not both")
    if files:
        chosen = list(files)
    elif path and os.path.isdir(path):
        chosen = default_project(path) or []
        if not chosen:
            raise click.UsageError(f"{path}: no compose.yaml (or docker-compose.yml) in this folder")
    elif path:
        chosen = [path]
    elif os.environ.get("COMPOSE_FILE"):
        sep = os.environ.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
        chosen = [f for f in os.environ["COMPOSE_FILE"].split(sep) if f]
    else:
        chosen = default_project(".") or []
        if not chosen:
            raise click.UsageError("no compose file in the current folder: give a PATH or -f FILE")
    for f in chosen:
        if not os.path.isfile(f):
            raise click.UsageError(f"{f}: no such file")
    absolute = [os.path.abspath(f) for f in chosen]
    return absolute, os.path.abspath(directory) if directory else os.path.dirname(absolute[0])


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.argument("path", required=False, type=click.Path())
@click.option("-f", "--file", "files", multiple=True, type=click.Path(), help="Compose file of the project; repeat to merge files in order.")
@click.option("--project-directory", type=click.Path(file_okay=False), help="Project folder (default: the first file's folder).")
@click.option("--profile", "profiles", multiple=True, help="Enable a Compose profile; repeatable.")
@click.option("--image", default="busybox", show_default=True, help="Stand-in image (busybox with nslookup, nc, httpd, timeout).")
@click.option("--pull", type=click.Choice(["missing", "never", "always"]), default="missing", show_default=True, help="Pull the stand-in image: never = use a local image only.")
@click.option("--timeout", type=click.FloatRange(min=10), default=600, show_default=True, help="Overall time budget of one probe, in seconds.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--compare", is_flag=True, help="Probe the project and compose-harden's proposal for it (a temporary copy), and compare.")
def probe_cli(path, files, project_directory, profiles, image, pull, timeout, fmt, compare) -> None:
    """Run the project's networking on a real Docker engine with stand-in containers and measure
    who reaches whom by name, who has a way out (TCP and DNS), who reaches the Docker host and
    which published ports answer. Everything is torn down afterwards, also on Ctrl-C.

    Nothing but the stack's own containers, the Docker host's own addresses and a network
    namespace the probe creates for the run is ever contacted.
    """
    from hardener.probe.compare import compare as compare_runs
    from hardener.probe.compare import harden_copy
    from hardener.probe.engine import ProbeError
    from hardener.probe.format import render
    from hardener.probe.session import Interrupted, Options, probe

    chosen, directory = _project(path, files, project_directory)
    label = " + ".join(os.path.relpath(f) if not os.path.relpath(f).startswith("..") else f for f in chosen)
    opts = Options(chosen, directory, tuple(profiles), image, pull, timeout, label)
    status = 0
    try:
        if not compare:
            doc = probe(opts)
            doc["label"] = label
        else:
            with tempfile.TemporaryDirectory(prefix="compose-harden-compare-") as tmp:
                copies, report = harden_copy(chosen, directory, os.path.join(tmp, "project"))
                click.echo("probing the project as it is ...", err=True)
                before = probe(opts)
                click.echo("probing compose-harden's proposal ...", err=True)
                after = probe(Options(copies, os.path.join(tmp, "project"), tuple(profiles), image, pull, timeout, label))
                after["files"] = before["files"]
                before["label"], after["label"] = f"{label} (before)", f"{label} (after)"
                cmp = compare_runs(before, after, report)
                doc = {"before": before, "after": after, "comparison": cmp, "hardening": report}
                status = 1 if cmp.get("dependencies_lost") else 0
    except ProbeError as exc:
        click.echo(f"compose-harden probe: {exc}", err=True)
        sys.exit(2)
    except (KeyboardInterrupt, Interrupted):
        click.echo("compose-harden probe: interrupted; everything it started was removed", err=True)
        sys.exit(130)
    click.echo(render(doc, fmt), nl=False)
    sys.exit(status)


def main(argv: list[str]) -> None:
    probe_cli.main(args=argv, prog_name="compose-harden probe")
