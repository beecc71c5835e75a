"""The runtime tier: fixture stacks run on a real Docker engine (marker ``runtime``).

It needs root, a Docker engine on this machine (``DOCKER_HOST`` or the default socket) and the
stand-in image ``$COMPOSE_HARDEN_PROBE_IMAGE`` (default ``compose-harden-standin:latest``) on it,
and for the egress gateway test the Squid image ``$COMPOSE_HARDEN_SQUID_IMAGE`` (default
``compose-harden-squid:test``); ``tests/runtime/engine.sh up`` provides them on a private
engine, and ``.ci/run`` does that for CI. Outside CI a tier that cannot run is skipped with one
line saying why; in CI (``CI`` set, or ``COMPOSE_HARDEN_RUNTIME=1`` as ``.ci/run`` exports) it
must run, and fails when it cannot.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

import pytest

IMAGE = os.environ.get("COMPOSE_HARDEN_PROBE_IMAGE") or "compose-harden-standin:latest"
# the egress gateway's Squid, built from the host's Debian squid package by engine.sh up
SQUID_IMAGE = os.environ.get("COMPOSE_HARDEN_SQUID_IMAGE") or "compose-harden-squid:test"


def required() -> bool:
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return ci or os.environ.get("COMPOSE_HARDEN_RUNTIME") == "1"


@functools.lru_cache(maxsize=1)
def why_not() -> str | None:
    """None when the tier can run, else the reason in a few words."""
    if os.geteuid() != 0:
        return "not root"
    docker = shutil.which("docker")
    if docker is None:
        return "no docker command"
    try:
        r = subprocess.run([docker, "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True,
                           timeout=20)
    except subprocess.TimeoutExpired:
        r = None
    if r is None or r.returncode != 0 or not r.stdout.strip():
        return f"no Docker engine answers on {os.environ.get('DOCKER_HOST') or 'the default socket'}"
    if subprocess.run([docker, "image", "inspect", IMAGE], capture_output=True, timeout=20).returncode != 0:
        return f"stand-in image {IMAGE} is not on the engine"
    return None


_skipped: list[str] = []


@pytest.fixture(scope="session")
def engine() -> str:
    """The stand-in image, once the tier is known to be able to run."""
    reason = why_not()
    if reason is not None:
        if required():
            pytest.fail(f"runtime tier cannot run in CI: {reason}", pytrace=False)
        _skipped.append(reason)
        pytest.skip(f"runtime tier: {reason}")
    return IMAGE


@pytest.fixture(scope="session")
def squid_image(engine) -> str:
    """The local Squid image (tests/runtime/squid-image.sh), once the tier can run."""
    r = subprocess.run(["docker", "image", "inspect", SQUID_IMAGE], capture_output=True, timeout=20)
    if r.returncode != 0:
        reason = f"Squid image {SQUID_IMAGE} is not on the engine (install squid; engine.sh up builds it)"
        if required():
            pytest.fail(f"runtime tier cannot run in CI: {reason}", pytrace=False)
        _skipped.append(reason)
        pytest.skip(f"runtime tier: {reason}")
    return SQUID_IMAGE


def pytest_terminal_summary(terminalreporter):
    if _skipped:
        terminalreporter.write_line(
            f"runtime tier skipped: {_skipped[0]} (tests/runtime/engine.sh up starts a private engine; "
            "bash .ci/run runs the tier)"
        )
