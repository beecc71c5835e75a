"""Fixture stacks on a real engine, before and after ``compose-harden --write``.

Each case copies a fixture, takes compose-harden's own JSON report of it (services, tiers,
dependencies, findings), probes it with ``compose-harden probe``, hardens the copy with
``--write`` and probes it again. On the measured matrix after hardening:

* every dependency the tool keeps connects by service name, and by every alias its evidence uses;
* data stores have no way out, over TCP or DNS (unless a finding says why they keep one);
* published ports of edge services answer, and so does every port that answered before;
* services taken off host networking answer on their new published ports.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.runtime

# a dozen stacks: three tiers, flat default networks, host mode removed with published ports,
# declared networks (kept, and needing a way out), aliases, namespace sharing (service: and
# container:), the legacy bridge with links, override files and -f files, published data stores,
# an egress gateway with services it cannot route
CASES = [
    "three-tier-web-app",
    "flat-default-network",
    "host-mode-unjustified-ports-restored",
    "existing-segmentation-kept",
    "existing-segmentation-needs-egress",
    "network-aliases",
    "network-alias-on-one-of-several-networks",
    "vpn-sidecar-service-namespace",
    "container-namespace",
    "network-mode-bridge",
    "override-file",
    "explicit-files-args",
    "data-store-publishes-ports",
    "egress-gateway-env-not-writable",
]
NAMED = re.compile(r"names '([^']+)'")


def tool(*args: str, cwd: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_") or k == "COMPOSE_HARDEN_PROBE_IMAGE"}
    env["PYTHONPATH"] = ROOT
    return subprocess.run([sys.executable, "-m", "hardener", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def case_args(case: str) -> list[str]:
    path = os.path.join(FIXTURES, case, "args")
    return shlex.split(open(path, encoding="utf-8").read()) if os.path.exists(path) else []


def probe(workdir: str, args: list[str], image: str) -> dict:
    r = tool("probe", "--format", "json", "--image", image, "--pull", "never", "--timeout", "300",
             *(args or ["."]), cwd=workdir)
    assert r.returncode == 0, f"probe failed ({r.returncode}): {r.stderr}"
    return json.loads(r.stdout)


def owner(result: dict, service: str) -> str:
    mode = result["services"][service].get("network_mode", "")
    return mode[len("service:"):] if mode.startswith("service:") else service


def reaches(result: dict, src: str, dst: str) -> bool:
    if owner(result, src) == owner(result, dst):
        return True  # one network namespace
    return bool((result["matrix"].get(src) or {}).get(owner(result, dst)))


def problems(report: dict, before: dict, after: dict) -> list[str]:
    """Everything the hardened stack gets wrong on the engine, in words."""
    out: list[str] = []
    tiers = {s["name"]: s["tier"] for s in report["services"]}
    open_findings = [f for f in report["findings"] if not f["fixed"]]
    reported = {f["service"] for f in open_findings if f["service"]}
    cut = {(f["service"], m) for f in open_findings if f["rule"] == "dependency-cut"
           for m in re.findall(r"reaches (\S+) ", f["message"])}
    host_mode = {s for s, e in after["services"].items() if e.get("network_mode") == "host"}
    for name, result in (("before", before), ("after", after)):
        for s, row in result["matrix"].items():
            if row is None and result["services"][s]["running"]:
                out.append(f"{name}: {s} was not measured")
    for d in report["dependencies"]:
        src, dst = d["from"], d["to"]
        if (src, dst) in cut or src in host_mode or dst in host_mode:
            continue
        if not reaches(after, src, dst):
            out.append(f"kept dependency {src} -> {dst} ({d['kind']}) does not connect by name")
        for name in {n for e in d["evidence"] for n in NAMED.findall(e)}:
            if name in after["alias_of"] and not (after["aliases"].get(src) or {}).get(name):
                out.append(f"kept dependency {src} -> {dst} does not connect by its alias {name}")
    for s, tier in sorted(tiers.items()):
        if tier != "data" or s in reported or s in host_mode or owner(after, s) != s:
            continue
        if after["egress"][s] is not False:
            out.append(f"data store {s} has a way out over TCP")
        if after["dns_egress"][s] is not False:
            out.append(f"data store {s} has a way out over DNS")
    for s, ports in before["published"].items():
        for key, who in ports.items():
            if who == s and after["published"].get(s, {}).get(key) != s:
                out.append(f"{s} {key} answered before, not after")
    for s, ports in after["published"].items():
        for key, who in ports.items():
            if tiers.get(s) == "edge" and who != s:
                out.append(f"edge service {s}: published {key} does not answer")
    off_host = {f["service"] for f in report["findings"] if f["rule"] == "host-network" and f["fixed"]}
    for s in sorted(off_host):
        ports = after["published"].get(s) or {}
        if not ports:
            out.append(f"{s} was taken off host networking but publishes no port")
        for key, who in ports.items():
            if who != s:
                out.append(f"{s} (off host networking): published {key} does not answer")
    return out


@pytest.mark.parametrize("case", CASES)
def test_hardened_stack_on_the_engine(case, engine, tmp_path):
    work = str(tmp_path / case)
    shutil.copytree(os.path.join(FIXTURES, case), work)
    args = case_args(case)
    r = tool("--format", "json", "-q", *args, cwd=work)
    assert r.returncode in (0, 1), r.stderr
    report = json.loads(r.stdout)["files"][0]
    assert report["status"] == "changes pending", report.get("error")
    before = probe(work, args, engine)
    w = tool("--write", "-q", *args, cwd=work)
    assert w.returncode in (0, 1), w.stderr
    after = probe(work, args, engine)
    found = problems(report, before, after)
    assert not found, "\n".join(found)


def test_probe_compare_reports_kept_dependencies(engine, tmp_path):
    work = str(tmp_path / "ttwa")
    shutil.copytree(os.path.join(FIXTURES, "three-tier-web-app"), work)
    r = tool("probe", "--compare", "--format", "json", "--image", engine, "--pull", "never", ".", cwd=work)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    cmp = doc["comparison"]
    assert cmp["dependencies_lost"] == []
    assert {(d["from"], d["to"]) for d in cmp["dependencies"] if d["after"]} == {
        ("web", "api"), ("api", "db"), ("api", "cache")}
    assert cmp["egress"]["lost"] == ["cache", "db"] and cmp["dns_egress"]["lost"] == ["cache", "db"]
    # the checks of the tier bite: the stack as it was fails them
    unhardened = problems(doc["hardening"], doc["before"], doc["before"])
    assert "data store db has a way out over TCP" in unhardened
    assert "data store cache has a way out over DNS" in unhardened
    # the user's files are untouched: the proposal was applied to a copy
    with open(os.path.join(work, "compose.yaml"), encoding="utf-8") as a, \
            open(os.path.join(FIXTURES, "three-tier-web-app", "compose.yaml"), encoding="utf-8") as b:
        assert a.read() == b.read()
    text = tool("probe", "--compare", "--image", engine, "--pull", "never", ".", cwd=work).stdout
    connected = sum(1 for d in cmp["dependencies"] if d["before"])
    assert f"0 of {connected} connections lost" in text and "cache, db lost their way out (TCP and DNS)" in text


def _leftovers() -> list[str]:
    found = []
    ps = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True).stdout
    found += [n for n in ps.split() if n.startswith("chprobe")]
    nets = subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}"], capture_output=True, text=True).stdout
    found += [n for n in nets.split() if n.startswith("chprobe")]
    found += [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
              if n.startswith("chp-")]
    found += [line for line in subprocess.run(["ip", "route"], capture_output=True, text=True).stdout.splitlines()
              if "198.19.252." in line]
    return found


def test_sigterm_tears_everything_down(engine, tmp_path):
    work = str(tmp_path / "stack")
    shutil.copytree(os.path.join(FIXTURES, "flat-default-network"), work)
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen([sys.executable, "-m", "hardener", "probe", "--image", engine, "--pull", "never", "."],
                         cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(240):  # until its containers exist (bounded)
            ps = subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True).stdout
            if any(n.startswith("chprobe") for n in ps.split()) or p.poll() is not None:
                break
            time.sleep(0.25)
        assert p.poll() is None, "the probe ended before it could be interrupted"
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=180)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    assert "interrupted" in err
    assert _leftovers() == []


def test_nothing_left_behind(engine):
    assert _leftovers() == []
