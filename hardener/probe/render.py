"""Render the project with Compose itself (``config --format json``): anchors, ``extends``,
``include``, interpolation with the project's ``.env``, override files and profiles mean exactly
what they mean to Compose. Nothing is started here.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from hardener.probe.engine import Engine, ProbeError


def _config(engine: Engine, project: str, directory: str, files: list[str], profiles: tuple[str, ...],
            extra: list[str]) -> tuple[dict | None, str]:
    r = engine.compose_cmd(project, directory, files, ["config", "--format", "json", *extra], 120, profiles)
    text = r.stdout.strip()
    # Compose may exit 0 with nothing on stdout (a missing env_file): empty output is a failure
    if r.returncode != 0 or not text:
        return None, r.stderr.strip()
    try:
        return json.loads(text), r.stderr.strip()
    except ValueError:
        return None, "compose printed something that is not JSON"


def render(engine: Engine, project: str, directory: str, files: list[str], profiles: tuple[str, ...],
           notes: list[str]) -> dict:
    """Compose's model of the project, as a dict."""
    model, err = _config(engine, project, directory, files, profiles, [])
    if model is None and ("env file" in err.lower() or "env_file" in err.lower()):
        # a missing env_file stops Compose; the stand-ins need no environment: render without
        # interpolation, drop env_file, and render that with interpolation
        raw, _ = _config(engine, project, directory, files, profiles, ["--no-interpolate"])
        if raw is not None:
            for svc in (raw.get("services") or {}).values():
                svc.pop("env_file", None)
                svc.pop("profiles", None)  # already chosen by the first rendering
            tmp = tempfile.mkdtemp(prefix="compose-harden-probe-")
            try:
                path = os.path.join(tmp, "compose.rendered.json")
                with open(path, "w", encoding="utf-8") as fh:
                    json.dump(raw, fh)
                model, err = _config(engine, project, directory, [path], (), [])
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            if model is not None:
                notes.append("an env_file is missing: the project was rendered without its env files")
    if model is None:
        lines = [x for x in err.splitlines() if x.strip()]
        raise ProbeError("docker compose config refused the project: " + (lines[-1] if lines else "no output"))
    if not model.get("services"):
        raise ProbeError("the project has no service to probe (are its profiles enabled? --profile)")
    return model
