"""The egress gateway on a real engine (issue 13).

A client app and its database, hardened with ``compose-harden --write --egress-gateway`` once in
report mode and once in enforce mode, run on the private engine: the gateway as the local Squid
image (the host's Debian squid, ``tests/runtime/squid-image.sh``) with the ``squid.conf`` the tool
wrote, every other service as the probe's stand-in (rendered by Compose, rewritten by the probe's
own machinery). The world outside is the probe's outside test host: a namespace this run creates
on a reserved test range, with a resolver that knows one name for it, which the app's environment
names. Nothing else is ever contacted. From inside the client:

* a GET through its proxy (the ``http_proxy`` the tool wrote) to the outside host by the name the
  stack names is answered by that host; the same GET straight to the host fails (its networks are
  internal), while the gateway reaches it directly;
* a GET for ``http://169.254.169.254/`` through the proxy gets 403 from Squid itself, which logs it
  as denied and not forwarded (``TCP_DENIED/403 ... HIER_NONE/-``); the engine's containers have
  no route to link-local addresses anyway (engine.sh's blackhole rule, checked first);
* the outside host by its address, which the stack does not name: 403 in enforce mode, answered
  in report mode;
* the client reaches the data store by name; the data store does not reach the gateway;
* every request is in the gateway's log on its stdout (``docker compose logs``: the audit trail).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
from ruamel.yaml import YAML

from conftest import ROOT
from hardener.plan.gateway import DEFAULT_IMAGE, PORT, PROXY_KEYS, gateway_role
from hardener.probe.engine import Budget, Engine
from hardener.probe.outside import HTTP_PORT, Outside
from hardener.probe.render import render
from hardener.probe.session import PortPicker, _down
from hardener.probe.standin import PROBE_PORT, _escape, rewrite

pytestmark = pytest.mark.runtime

STACK = """\
# A client app and its database; the app calls an HTTP API outside the stack.
services:
  app:
    image: ghcr.io/example/app:1.0
    environment:
      API_URL: http://{name}/v1
      DATABASE_URL: postgres://app:secret@db:5432/app

  db:
    image: postgres:16
"""

# busybox-static resolves no host names itself (measure.py): names go through nslookup, and the
# HTTP request is written by hand -- exactly what a client honouring http_proxy sends the proxy.
# The request is written by a program nc runs on the connection (-e), which then copies the answer
# to stderr: nc itself would half-close the connection at the end of its input, which Squid takes
# for an aborted request (half_closed_clients off).
RESOLVE_SH = r"""
resolve() {
  timeout 5 nslookup -type=a "$1" 2>/dev/null |
    awk '/^Name:/ {n = 1; next} n && /^Address/ {sub(/^Address( [0-9]+)?:[ \t]*/, ""); print; exit}'
}
"""
# $1 URL, $2 Host header: GET through the proxy in the container's own http_proxy
VIA_PROXY_SH = RESOLVE_SH + r"""
p=${http_proxy#http://}; p=${p%%/*}; host=${p%:*}; port=${p##*:}
ip=$(resolve "$host")
[ -n "$ip" ] || { echo "proxy $host does not resolve"; exit 0; }
export REQ_URL="$1" REQ_HOST="$2"
timeout 15 nc -w 10 "$ip" "$port" -e sh -c \
  'printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$REQ_URL" "$REQ_HOST"; cat >&2' 2>&1
"""
# $1 address, $2 port: GET /id straight to it
DIRECT_SH = r"""printf 'GET /id HTTP/1.0\r\n\r\n' | timeout 6 nc -w 4 "$1" "$2" 2>&1; echo "exit $?" """
# $1 name, $2 port: GET /id to the address the name resolves to
BY_NAME_SH = RESOLVE_SH + r"""
ip=$(resolve "$1")
[ -n "$ip" ] || { echo "$1 does not resolve"; exit 0; }
printf 'GET /id HTTP/1.0\r\n\r\n' | timeout 6 nc -w 4 "$ip" "$2"
"""


def harden(work: str, mode: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYTHONPATH"] = ROOT
    return subprocess.run([sys.executable, "-m", "hardener", "--write", "-q", "--egress-gateway", "--egress-mode", mode,
                           "."], cwd=work, capture_output=True, text=True, timeout=300, env=env)


def response(text: str) -> tuple[int | None, str]:
    """(HTTP status, last line of the body) of a raw answer; (None, text) when there is none."""
    m = re.match(r"HTTP/1\.[01] (\d{3})", text)
    if not m:
        return None, text.strip()
    lines = text.strip().splitlines()
    return int(m.group(1)), lines[-1].strip() if lines else ""


class Run:
    """The hardened stack on the engine: gateway = the local Squid image, the rest stand-ins."""

    def __init__(self, eng: Engine, work: str, token: str, outside: Outside, standin: str, squid: str):
        self.eng, self.work, self.token, self.outside = eng, work, token, outside
        # the probe's prefix: test_stacks.py's test_nothing_left_behind finds what is left
        self.project = f"chprobe{token}"
        self.notes: list[str] = []
        self.started = False
        self.ids: dict[str, str] = {}
        path = os.path.join(work, "compose.yaml")
        with open(path, encoding="utf-8") as fh:  # the gateway carries the tool's marker
            written = YAML(typ="safe").load(fh)
        gateways = [s for s, svc in written["services"].items() if gateway_role(svc)]
        assert len(gateways) == 1, f"one gateway service expected: {sorted(written['services'])}"
        model = render(eng, self.project, work, [path], (), self.notes)
        self.gw = gateways[0]
        assert model["services"][self.gw]["image"] == DEFAULT_IMAGE
        ports = PortPicker()
        try:
            sm = rewrite(model, token=token, image=standin, pull="never", dns=outside.ip, free_port=ports)
        finally:
            ports.release()
        gw = sm.model["services"][self.gw]
        for k in ("entrypoint", "command", "environment"):
            gw.pop(k, None)  # the image's own entrypoint runs Squid, as ubuntu/squid's does
        gw["image"] = squid
        gw["configs"] = model["services"][self.gw]["configs"]
        sm.model["configs"] = _escape(model["configs"])  # Compose interpolates the model again
        for name, svc in model["services"].items():  # the proxy variables the tool wrote
            env = {k: v for k, v in (svc.get("environment") or {}).items() if k in PROXY_KEYS}
            if env and name != self.gw:
                sm.model["services"][name]["environment"].update(_escape(env))
        self.model = model
        self.tmp = tempfile.mkdtemp(prefix="compose-harden-gateway-")
        self.path = os.path.join(self.tmp, "compose.probe.json")  # the name session._down expects
        with open(self.path, "w", encoding="utf-8") as fh:
            json.dump(sm.model, fh, indent=1, sort_keys=True)

    def up(self) -> None:
        self.started = True
        r = self.eng.compose_cmd(self.project, self.work, [self.path], ["up", "-d", "--no-build"], 180)
        assert r.returncode == 0, f"compose up failed: {r.stderr[-1500:]}"
        for c in self.eng.containers(self.project):
            self.ids[c["Config"]["Labels"]["com.docker.compose.service"]] = c["Id"]
        for _ in range(120):  # Squid is up when it says so in its log
            if "Accepting HTTP Socket connections" in self.logs():
                return
            time.sleep(0.25)
        raise AssertionError(f"Squid did not start:\n{self.logs()[-3000:]}")

    def down(self) -> None:
        if self.started:
            _down(self.eng, self.project, self.work, self.tmp, self.notes)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def sh(self, service: str, script: str, *args: str) -> str:
        r = self.eng.docker_cmd(["exec", self.ids[service], "sh", "-c", script, "sh", *args], 60)
        return r.stdout + r.stderr

    def logs(self) -> str:
        """The gateway's stdout and stderr: what ``docker compose logs egress-gateway`` shows."""
        r = self.eng.docker_cmd(["logs", self.ids[self.gw]], 30)
        return r.stdout + r.stderr

    def logged(self, pattern: re.Pattern) -> str | None:
        """The gateway's log line matching ``pattern`` (its log is followed with tail -F: bounded wait)."""
        for _ in range(40):
            for line in self.logs().splitlines():
                if pattern.search(line):
                    return line
            time.sleep(0.25)
        return None

    def addresses(self, service: str) -> dict[str, str]:
        """network name -> the service's address on it."""
        c = self.eng.docker_json(["inspect", self.ids[service]])[0]
        return {n: v["IPAddress"] for n, v in c["NetworkSettings"]["Networks"].items() if v.get("IPAddress")}


@pytest.mark.parametrize("mode", ["report", "enforce"])
def test_gateway_on_the_engine(mode, engine, squid_image, tmp_path):
    token = secrets.token_hex(4)
    outside = Outside(token, lifetime=900)
    eng = Engine(Budget(600))
    eng.check()
    run = None
    try:
        outside.up()
        work = str(tmp_path / "stack")
        os.makedirs(work)
        with open(os.path.join(work, "compose.yaml"), "w", encoding="utf-8") as fh:
            fh.write(STACK.format(name=outside.dns_name))
        r = harden(work, mode)
        assert r.returncode in (0, 1), r.stderr
        run = Run(eng, work, token, outside, engine, squid_image)
        conf = next(iter(run.model["configs"].values()))["content"]
        assert f"(mode: {mode})" in conf
        if mode == "enforce":
            assert f"acl allowed_hosts dstdomain {outside.dns_name}" in conf, conf
        client = "app"
        proxy = f"http://{run.gw}:{PORT}"
        assert all(run.model["services"][client]["environment"][k] == proxy for k in PROXY_KEYS[:4])
        run.up()

        # nothing sent to link-local addresses can leave: the engine's blackhole rule holds for the
        # gateway's own way out, while the outside test host is routed into its namespace
        gw_net, gw_ip = next((n, ip) for n, ip in run.addresses(run.gw).items()
                             if not eng.docker_json(["network", "inspect", n])[0].get("Internal"))
        bridge = "br-" + eng.docker_json(["network", "inspect", gw_net])[0]["Id"][:12]
        meta = subprocess.run(["ip", "route", "get", "169.254.169.254", "from", gw_ip, "iif", bridge],
                              capture_output=True, text=True)
        assert meta.returncode != 0 or meta.stdout.startswith("blackhole"), \
            f"containers of the engine have a route to 169.254.169.254: {meta.stdout}"
        out = subprocess.run(["ip", "route", "get", outside.ip, "from", gw_ip, "iif", bridge],
                             capture_output=True, text=True)
        assert out.returncode == 0 and f"dev {outside.veth_host}" in out.stdout, out.stdout + out.stderr

        # through the gateway, by the name the stack names: the outside host answers
        url = f"http://{outside.dns_name}/id"
        status, body = response(run.sh(client, VIA_PROXY_SH, url, outside.dns_name))
        assert (status, body) == (200, outside.body), f"through the gateway: {status} {body}"
        forwarded = rf"TCP_MISS/200 .* GET {re.escape(url)} .* HIER_DIRECT/{re.escape(outside.ip)}\b"
        assert run.logged(re.compile(forwarded)), "the request is not in the gateway's log:\n" + run.logs()[-3000:]

        # straight out: the client cannot (its networks are internal); the gateway can
        direct = run.sh(client, DIRECT_SH, outside.ip, str(HTTP_PORT))
        assert outside.body not in direct, f"the client reached the outside host directly: {direct}"
        assert outside.body in run.sh(run.gw, DIRECT_SH, outside.ip, str(HTTP_PORT)), \
            "the gateway itself does not reach the outside test host: the check above proves nothing"

        # cloud metadata: 403 from Squid, denied before anything is forwarded
        meta_url = "http://169.254.169.254/latest/meta-data/"
        answer = run.sh(client, VIA_PROXY_SH, meta_url, "169.254.169.254")
        assert response(answer)[0] == 403 and "ERR_ACCESS_DENIED" in answer, answer[:600]
        assert run.logged(re.compile(rf"TCP_DENIED\S*/403 .* GET {re.escape(meta_url)} .*HIER_NONE/-")), \
            "the denied metadata request is not logged as denied without forwarding:\n" + run.logs()[-3000:]

        # the outside host by an address the stack does not name
        by_ip = f"http://{outside.ip}/id"
        status, body = response(run.sh(client, VIA_PROXY_SH, by_ip, outside.ip))
        if mode == "enforce":
            assert status == 403, f"enforce mode let an unlisted host through: {status} {body}"
            denied = rf"TCP_DENIED\S*/403 .* GET {re.escape(by_ip)} .*HIER_NONE/-"
            assert run.logged(re.compile(denied)), run.logs()[-3000:]
        else:
            assert (status, body) == (200, outside.body), f"report mode refused an outside host: {status} {body}"

        # service to service by name still works; the data store does not reach the gateway
        assert run.sh(client, BY_NAME_SH, "db", str(PROBE_PORT)).strip().endswith(f"{token}:db")
        for ip in run.addresses(run.gw).values():
            got = run.sh("db", DIRECT_SH, ip, str(PORT))
            assert "squid" not in got.lower() and not got.startswith("HTTP/"), f"db reaches the gateway at {ip}: {got}"
    finally:
        try:
            if run is not None:
                run.down()
        finally:
            outside.down()
