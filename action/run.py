"""The GitHub Action's step: run compose-harden once and hand its results to the workflow.

Inputs come from the environment (``INPUT_PATHS``, ``INPUT_MODE``, ``INPUT_FAIL_ON``,
``INPUT_SARIF``, ``INPUT_MARKDOWN``, ``INPUT_CONFIG``); the tool's path is the first argument.
One run of the tool writes the Markdown report (stdout), a JSON report and a SARIF log. The
Markdown goes to ``$GITHUB_STEP_SUMMARY`` (and to the ``markdown`` input's path), findings become
annotations on the files, and ``exit-code``, ``changed``, ``findings``, ``sarif`` and
``markdown`` go to ``$GITHUB_OUTPUT``. The step exits with the tool's status, so ``fail-on``
decides whether it fails. Standard library only: it runs on the runner's own Python.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

MODES = ("check", "diff", "write")
FAIL_ON = ("", "error", "finding", "change", "never")


def _fail(message: str) -> int:
    print(f"::error title=compose-harden::{_data(message)}")
    print(f"compose-harden action: {message}", file=sys.stderr)
    return 2


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _output(path: str | None, name: str, value: str) -> None:
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        if "\n" in value:
            delim = "compose_harden_EOF"
            while delim in value:
                delim += "_"
            f.write(f"{name}<<{delim}\n{value}\n{delim}\n")
        else:
            f.write(f"{name}={value}\n")


def annotations(sarif: dict) -> list[str]:
    """Workflow commands for the results that need a human (not suppressed)."""
    out = []
    for run in sarif.get("runs", []):
        for r in run.get("results", []):
            if r.get("suppressions") or r.get("properties", {}).get("fixed"):
                continue
            level = {"error": "error", "warning": "warning"}.get(r.get("level", "warning"), "notice")
            props = [f"title={_prop('compose-harden ' + r['ruleId'])}"]
            loc = (r.get("locations") or [{}])[0].get("physicalLocation", {})
            uri = loc.get("artifactLocation", {}).get("uri")
            if uri and loc.get("artifactLocation", {}).get("uriBaseId"):
                from urllib.parse import unquote

                props.insert(0, f"file={_prop(unquote(uri))}")
                region = loc.get("region", {})
                if "startLine" in region:
                    props.insert(1, f"line={region['startLine']}")
                    if "startColumn" in region:
                        props.insert(2, f"col={region['startColumn']}")
            out.append(f"::{level} {','.join(props)}::{_data(r['message']['text'])}")
    return out


def main(argv: list[str], env: dict[str, str]) -> int:
    exe = argv[0] if argv else (shutil.which("compose-harden") or "compose-harden")
    paths = (env.get("INPUT_PATHS") or ".").split()
    mode = (env.get("INPUT_MODE") or "check").strip()
    fail_on = (env.get("INPUT_FAIL_ON") or "").strip()
    config = (env.get("INPUT_CONFIG") or "").strip()
    if mode not in MODES:
        return _fail(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if fail_on not in FAIL_ON:
        return _fail(f"fail-on must be one of {', '.join(FAIL_ON[1:])}, not {fail_on!r}")
    tmp = env.get("RUNNER_TEMP") or tempfile.mkdtemp(prefix="compose-harden-")
    sarif_path = (env.get("INPUT_SARIF") or "").strip() or os.path.join(tmp, "compose-harden.sarif")
    markdown_path = (env.get("INPUT_MARKDOWN") or "").strip() or os.path.join(tmp, "compose-harden.md")
    json_path = os.path.join(tmp, "compose-harden.json")
    cmd = [exe, f"--{mode}", "--format", "markdown", "--report", f"json:{json_path}", "--report", f"sarif:{sarif_path}"]
    if fail_on:
        cmd += ["--fail-on", fail_on]
    if config:
        cmd += ["--config", config]
    cmd += ["--", *paths]
    print("+ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env={**env, "NO_COLOR": "1"})
    markdown = proc.stdout
    with open(markdown_path, "w", encoding="utf-8") as f:
        f.write(markdown)
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary and markdown:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(markdown + "\n")
    changed, findings = False, 0
    try:
        with open(json_path, encoding="utf-8") as f:
            report = json.load(f)
        for entry in report.get("files", []):
            changed |= entry.get("status") in ("written", "changes pending")
            findings += sum(1 for x in entry.get("findings", [])
                            if not x["fixed"] and not x.get("acknowledged") and x.get("severity") != "note")
            if mode == "diff":
                for edit in entry.get("edits", []):
                    if edit.get("diff"):
                        sys.stdout.write(edit["diff"])
    except (OSError, ValueError):
        pass  # the tool said why on stderr; its status is the step's
    try:
        with open(sarif_path, encoding="utf-8") as f:
            for line in annotations(json.load(f)):
                print(line)
    except (OSError, ValueError):
        pass
    out = env.get("GITHUB_OUTPUT")
    _output(out, "exit-code", str(proc.returncode))
    _output(out, "changed", "true" if changed else "false")
    _output(out, "findings", str(findings))
    _output(out, "sarif", sarif_path)
    _output(out, "markdown", markdown_path)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], dict(os.environ)))
