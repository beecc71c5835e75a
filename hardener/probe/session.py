"""One probe: render -> stand-ins -> up -> measure -> down, always down.

The project runs under a unique name (``chprobe<token>``), so it never meets a real stack or
another probe on the same engine. Teardown (``compose down``, then removal by label of anything
left, the outside namespace, the host listeners, the temporary model) runs whatever happened,
also on Ctrl-C and SIGTERM; a second signal during teardown does not cut it short.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import tempfile
import threading
import time
from contextlib import contextmanager

from hardener.probe.engine import Budget, Engine, ProbeError
from hardener.probe.measure import Job, Seen, measure, owners_of, published, reached, targets_for
from hardener.probe.outside import HTTP_PORT, HostListeners, Outside, http_get
from hardener.probe.render import render
from hardener.probe.standin import PROBE_PORT, StandinModel, rewrite
from hardener.record import record


@record
class Options:
    files: list[str]  # absolute paths, in -f order
    directory: str  # the project folder
    profiles: tuple[str, ...] = ()
    image: str = "busybox"
    pull: str = "missing"  # missing | never | always
    timeout: float = 600
    label: str = ""  # how the result names the project for the user


class Interrupted(Exception):
    """SIGTERM, raised where the probe is, so that teardown runs."""


@contextmanager
def terminable():
    """SIGTERM unwinds like Ctrl-C while the probe runs."""

    def on_term(signum, frame):
        raise Interrupted()

    old = signal.signal(signal.SIGTERM, on_term) if _main_thread() else None
    try:
        yield
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


@contextmanager
def shielded():
    """Ctrl-C and SIGTERM wait until teardown is done (then the first one is raised again)."""
    if not _main_thread():
        yield
        return
    got: list[int] = []
    handlers = {s: signal.signal(s, lambda n, f: got.append(n)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
        if got:
            raise KeyboardInterrupt() if got[0] == signal.SIGINT else Interrupted()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class PortPicker:
    """Free loopback ports, held until :meth:`release` so that no two are the same."""

    def __init__(self):
        self.held: list[socket.socket] = []

    def __call__(self) -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        self.held.append(s)
        return s.getsockname()[1]

    def release(self) -> None:
        for s in self.held:
            s.close()
        self.held = []


def probe(opts: Options, engine: Engine | None = None) -> dict:
    """Run one probe and return its result (see the README for the fields)."""
    budget = Budget(opts.timeout)
    engine = engine or Engine(budget)
    engine.budget = budget
    with terminable():
        engine.check()
        if opts.pull == "never" and not engine.has_image(opts.image):
            raise ProbeError(f"image {opts.image} is not on the engine (--pull never): load it or allow pulling")
        token = secrets.token_hex(4)
        project = f"chprobe{token}"
        notes: list[str] = []
        model = render(engine, project, opts.directory, opts.files, opts.profiles, notes)
        outside = Outside(token, lifetime=opts.timeout + 120)
        listeners = HostListeners(token)
        tmp = tempfile.mkdtemp(prefix="compose-harden-probe-")
        ports = PortPicker()
        started = False
        try:
            outside.up()
            try:
                sm = rewrite(model, token=token, image=opts.image, pull=opts.pull, dns=outside.ip, free_port=ports)
            except ValueError as exc:
                raise ProbeError(str(exc)) from None
            path = os.path.join(tmp, "compose.probe.json")
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(sm.model, fh, indent=1, sort_keys=True)
            ports.release()
            started = True
            r = engine.compose_cmd(project, opts.directory, [path], ["up", "-d", "--no-build", "--remove-orphans"],
                                   120 + 5 * len(sm.running))
            if r.returncode != 0:
                lines = [x for x in r.stderr.splitlines() if x.strip()]
                notes.append("compose up failed: " + (lines[-1] if lines else "no message") + "; probing what runs")
            result = _measure(engine, opts, sm, project, token, outside, listeners, notes)
        finally:
            with shielded():
                ports.release()
                listeners.stop()
                if started:
                    _down(engine, project, opts.directory, tmp, notes)
                outside.down()
                shutil.rmtree(tmp, ignore_errors=True)
        result["notes"] = notes
        return result


def _down(engine: Engine, project: str, directory: str, tmp: str, notes: list[str]) -> None:
    engine.budget = Budget(120)  # teardown gets its own time, whatever the probe used
    path = os.path.join(tmp, "compose.probe.json")
    try:
        r = engine.compose_cmd(project, directory, [path], ["down", "-v", "-t", "1", "--remove-orphans"], 90)
        if r.returncode != 0:
            notes.append("compose down failed: " + r.stderr.strip()[-200:])
    except ProbeError as exc:
        notes.append(f"compose down: {exc}")
    try:
        left = engine.containers(project)
        if left:
            engine.docker_cmd(["rm", "-f", "-v", *[c["Id"] for c in left]], 60)
        r = engine.docker_cmd(["network", "ls", "-q", "--filter", f"label=com.docker.compose.project={project}"], 30)
        if r.stdout.split():
            engine.docker_cmd(["network", "rm", *r.stdout.split()], 60)
    except ProbeError as exc:
        notes.append(f"teardown: {exc}")


def _wait_running(engine: Engine, project: str, count: int) -> list[dict]:
    containers: list[dict] = []
    for _ in range(60):
        containers = engine.containers(project)
        if len(containers) >= count and all(c["State"]["Status"] != "created" for c in containers):
            break
        time.sleep(0.25)
    return containers


def _measure(engine: Engine, opts: Options, sm: StandinModel, project: str, token: str, outside: Outside,
             listeners: HostListeners, notes: list[str]) -> dict:
    containers = _wait_running(engine, project, len(sm.running))
    by_service: dict[str, dict] = {}
    for c in sorted(containers, key=lambda c: c["Name"]):
        svc = (c["Config"].get("Labels") or {}).get("com.docker.compose.service")
        if svc and svc not in by_service:
            by_service[svc] = c
    net_names = sorted({n for c in by_service.values() for n in (c["NetworkSettings"].get("Networks") or {})})
    networks: dict[str, dict] = {}
    if net_names:
        for n in engine.docker_json(["network", "inspect", *net_names]):
            cfg = (n.get("IPAM") or {}).get("Config") or []
            networks[n["Name"]] = {"internal": bool(n.get("Internal")),
                                   "gateways": [c["Gateway"] for c in cfg if c.get("Gateway")]}
    running = {s for s, c in by_service.items() if c["State"].get("Running")}
    for s in sm.running:
        if s not in running:
            state = by_service.get(s, {}).get("State", {})
            notes.append(f"{s}: not running ({state.get('Status', 'not created')}"
                         + (f": {state['Error']}" if state.get("Error") else "") + ")")

    def own(s: str) -> str:
        return sm.owners.get(s, s)

    def nets_of(s: str) -> dict:
        c = by_service.get(own(s))
        return (c["NetworkSettings"].get("Networks") or {}) if c else {}

    # the stand-ins' listeners answer before anything is measured (bounded)
    pending = {s: ip for s in running if sm.listens.get(s)
               for ip in [next((v.get("IPAddress") for v in nets_of(s).values() if v.get("IPAddress")), None)] if ip}
    for _ in range(40):
        pending = {s: ip for s, ip in pending.items() if http_get(ip, PROBE_PORT, 1) != f"{token}:{s}"}
        if not pending:
            break
        time.sleep(0.25)
    for s in sorted(pending):
        notes.append(f"{s}: its stand-in listener did not answer from the host")

    gateways = {s: sorted({g for n in nets_of(s) for g in networks.get(n, {}).get("gateways", [])}) for s in running}
    listeners.start(sorted({g for gs in gateways.values() for g in gs} | {outside.host_ip, "127.0.0.1"}))
    jobs = []
    for s in sorted(running):
        mode = sm.modes.get(own(s), "")
        if mode == "none":
            continue
        hosts = ["127.0.0.1"] if mode == "host" else gateways[s] + [outside.host_ip]
        jobs.append(Job(s, by_service[s]["Id"], targets_for(sm, s), f"{outside.ip}:{HTTP_PORT}", outside.dns_name,
                        hosts))
    seen, late = measure(engine, sm, jobs, token, outside.ip, outside.body, listeners.body, listeners.port, notes)

    owners = owners_of(sm)
    result: dict = {"project": project, "files": opts.files, "engine": engine.server, "image": opts.image}
    result["services"] = {}
    for s in sm.services:
        entry: dict = {"running": s in running}
        if s in sm.skipped:
            entry["not_started"] = sm.skipped[s]
        mode = sm.modes.get(s, "")
        if mode:
            entry["network_mode"] = mode
        if s in by_service and not mode:
            entry["networks"] = {_key(n, project): networks.get(n, {}).get("internal", False)
                                 for n in sorted(nets_of(s))}
        result["services"][s] = entry
    matrix: dict = {}
    dns: dict = {}
    aliases: dict = {}
    egress: dict = {}
    dns_egress: dict = {}
    host: dict = {}
    for s in sm.services:
        sn: Seen | None = seen.get(s)
        if s in running and sm.modes.get(own(s)) == "none":
            sn = Seen(complete=True)
        if sn is None or sn.error:
            matrix[s] = dns[s] = aliases[s] = None
            egress[s] = dns_egress[s] = host[s] = None
            continue
        matrix[s] = {t: reached(sn, t, [t], token) for t in sm.services if t != s}
        dns[s] = {t: sn.status.get(t) == "ok" for t in sm.services if t != s}
        names = [t for t in targets_for(sm, s) if t not in sm.services]
        aliases[s] = {t: reached(sn, t, owners.get(t, []), token) for t in names}
        egress[s] = sn.egress == outside.body
        dns_egress[s] = outside.ip in sn.dns_egress
        host[s] = any(a == listeners.body for a in sn.host.values())
    result.update({"matrix": matrix, "egress": egress, "dns_egress": dns_egress, "host": host,
                   "published": published(sm, token), "dns": dns, "aliases": aliases,
                   "alias_of": {a: owners[a] for a in sorted(owners) if a not in sm.services},
                   "retried": late})
    if late:
        notes.append(f"{len(late)} check(s) passed only on the second pass: {', '.join(late[:10])}")
    if egress and not any(v for v in egress.values()):
        notes.append("no container reached the outside test host: if the stack has networks that are not "
                     "internal, a firewall on this host may drop forwarded traffic")
    notes.extend(sm.notes)
    return result


def _key(network: str, project: str) -> str:
    prefix = f"{project}_"
    return network[len(prefix):] if network.startswith(prefix) else network
