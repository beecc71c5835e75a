"""The "outside" test host: a network namespace the probe creates for the run, joined to the host
by a veth pair on a reserved test range (RFC 2544 benchmarking space), with a blackhole route for
its addresses so that nothing aimed at them can leave the machine even if the namespace is gone.

Inside it the probe runs its own listeners (``servers.py``): HTTP answering ``<token>:outside`` and
the DNS server every stand-in is given (NXDOMAIN to everything except one name of the run). A
container reaches it only through the host's forwarding path, exactly like an address on the
internet: that is what "egress" measures, and nothing else is ever contacted.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import socket
import subprocess
import sys

from hardener.probe.engine import ProbeError, run
from hardener.probe.servers import IdServer

RANGE = ipaddress.ip_network("198.19.252.0/24")
HTTP_PORT = 80
SERVERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "servers.py")


def _routes() -> list[ipaddress.IPv4Network]:
    r = run(["ip", "-j", "-4", "route", "show", "table", "all"], 10)
    out = []
    for route in json.loads(r.stdout or "[]") if r.returncode == 0 else []:
        dst = route.get("dst")
        if dst and dst != "default":
            try:
                out.append(ipaddress.ip_network(dst, strict=False))
            except ValueError:
                pass
    return out


class Outside:
    """Create with :meth:`up`, always :meth:`down` (safe to call twice, and after a failed up)."""

    def __init__(self, token: str, lifetime: float):
        self.token = token
        self.lifetime = lifetime
        self.ns = f"chp-{token}"
        self.veth_host = f"chp{token[:8]}h"
        self.veth_ns = f"chp{token[:8]}n"
        self.net: ipaddress.IPv4Network | None = None
        self.guard_added = False
        self.proc: subprocess.Popen | None = None
        self.host_ip = self.ip = ""
        self.dns_name = f"{token}.compose-harden-probe.invalid"

    @property
    def body(self) -> str:
        return f"{self.token}:outside"

    def _ip(self, *args: str) -> None:
        r = run(["ip", *args], 10)
        if r.returncode != 0:
            raise ProbeError(f"ip {' '.join(args)}: {r.stderr.strip()}")

    def up(self) -> None:
        if os.geteuid() != 0:
            raise ProbeError("the probe must run as root: it creates a network namespace as its outside test host")
        used = _routes()
        slots = list(RANGE.subnets(new_prefix=30))
        random.shuffle(slots)
        for net in slots:
            if any(net.overlaps(r) for r in used):
                continue
            if run(["ip", "route", "add", "blackhole", str(net), "metric", "4000"], 10).returncode == 0:
                self.net, self.guard_added = net, True
                break
        if self.net is None:
            raise ProbeError(f"no free test address in {RANGE} for the outside test host")
        hosts = list(self.net.hosts())
        self.host_ip, self.ip = str(hosts[0]), str(hosts[1])
        self._ip("netns", "add", self.ns)
        self._ip("link", "add", self.veth_host, "type", "veth", "peer", "name", self.veth_ns)
        self._ip("link", "set", self.veth_ns, "netns", self.ns)
        self._ip("addr", "add", f"{self.host_ip}/30", "dev", self.veth_host)
        self._ip("link", "set", self.veth_host, "up")
        self._ip("-n", self.ns, "addr", "add", f"{self.ip}/30", "dev", self.veth_ns)
        self._ip("-n", self.ns, "link", "set", self.veth_ns, "up")
        self._ip("-n", self.ns, "link", "set", "lo", "up")
        r = run(["ip", "-j", "route", "get", self.ip], 10)
        if r.returncode != 0 or (json.loads(r.stdout or "[{}]")[0].get("dev") != self.veth_host):
            raise ProbeError(f"{self.ip} is not routed into the probe's namespace: refusing to go on")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, sys.executable, SERVERS,
             "--http", f"{self.ip}:{HTTP_PORT}", "--body", self.body,
             "--dns", self.ip, "--answer", f"{self.dns_name}={self.ip}", "--lifetime", str(int(self.lifetime))],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if line.strip() != "ready":
            err = self.proc.stderr.read() if self.proc.stderr and self.proc.poll() is not None else ""
            raise ProbeError(f"the outside test host did not start: {err.strip()[-300:] or line.strip()}")
        if http_get(self.ip, HTTP_PORT, 3) != self.body:
            raise ProbeError(f"the outside test host {self.ip} does not answer from the host")

    def down(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()
            self.proc = None
        if run(["ip", "netns", "list"], 10).stdout.split().count(self.ns):
            run(["ip", "netns", "del", self.ns], 10)
        if run(["ip", "link", "show", self.veth_host], 10).returncode == 0:
            run(["ip", "link", "del", self.veth_host], 10)
        if self.guard_added and self.net is not None:
            run(["ip", "route", "del", "blackhole", str(self.net), "metric", "4000"], 10)
            self.guard_added = False


def http_get(host: str, port: int, timeout: float) -> str | None:
    """The last line of the answer to ``GET /id`` (None when nothing answers)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"GET /id HTTP/1.0\r\n\r\n")
            data = b""
            while len(data) < 65536:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    lines = data.decode("latin-1").strip().splitlines()
    return lines[-1].strip() if lines else ""


class HostListeners:
    """``GET /id`` -> ``<token>:host`` on the given addresses of this host, one port for all."""

    def __init__(self, token: str):
        self.body = f"{token}:host"
        self.servers: list[IdServer] = []
        self.port = 0

    def start(self, addresses: list[str]) -> None:
        addresses = sorted(set(addresses))
        for _ in range(20):
            self.stop()
            try:
                first = IdServer((addresses[0], 0), self.body)
                self.servers.append(first)
                self.port = first.server_address[1]
                for a in addresses[1:]:
                    self.servers.append(IdServer((a, self.port), self.body))
            except OSError:
                self.port = 0
                continue
            for s in self.servers:
                s.start()
            return
        self.stop()
        raise ProbeError("cannot open the host listeners (no port free on every host address)")

    def stop(self) -> None:
        for s in self.servers:
            try:
                s.stop()
            except OSError:
                pass
        self.servers = []
