"""Rewrite Compose's rendered model so that every service is a stand-in.

Only what decides who reaches whom is kept: ``networks`` (with aliases and priority),
``network_mode``, ``ports``, ``expose``, ``links``, ``hostname``/``domainname``, ``extra_hosts``
and ``depends_on`` (relaxed to ``service_started``: the healthchecks are gone); top-level networks
keep ``internal`` and bridge driver options. Every image becomes the stand-in, whose command
serves ``GET /id`` with ``<token>:<service>`` on the probe port and on every TCP port the service
publishes or exposes. Everything else (build, volumes, env files, secrets, devices, healthchecks,
deploy, ...) is dropped, and each kind of drop is listed in the notes.

The rewrite also makes the run safe to do beside real stacks on the same engine:

* networks get project-scoped names: no ``name:``, no ``external:`` network is joined (an external
  network becomes a plain network of the probe's project), no fixed subnet or address, no driver
  but ``bridge`` (never macvlan/ipvlan onto the real LAN);
* ``container_name`` goes (it is global on the engine); the name still resolves, as a network
  alias of the service, and ``network_mode: container:NAME`` becomes ``service:OWNER``;
* every published TCP port is bound on 127.0.0.1 at a free port the probe picks (the result
  is keyed by the port the file publishes), UDP publishing goes;
* every container's DNS server is the probe's own resolver (``dns``), so no lookup leaves the
  machine; host-mode stand-ins listen on loopback only, on the service's own ports.
"""

from __future__ import annotations

import ipaddress
from typing import Callable

PROBE_PORT = 7079  # the stand-in's own listener, in every container that has its own namespace
MAX_LISTEN_PORTS = 16
MAX_SERVICES = 80

SERVICE_KEYS = ("hostname", "domainname", "extra_hosts", "expose", "links")
NETWORK_ATTACH_KEYS = ("aliases", "priority", "gw_priority")
BRIDGE_DRIVERS = (None, "", "bridge", "default")
DROPPED_BRIDGE_OPTS = ("com.docker.network.bridge.name",)
# handled here or meaningless for a stand-in: not worth a note
QUIET_KEYS = frozenset({
    "image", "command", "entrypoint", "environment", "networks", "network_mode", "ports", "depends_on",
    "profiles", "container_name", "dns", "dns_search", "dns_opt", "restart", "stop_grace_period",
    "pull_policy", "labels", "working_dir", "user", "tty", "stdin_open", "init", *SERVICE_KEYS,
})

# The stand-in's command. Compose interpolates the model once more, hence $$.
LISTEN_SH = (
    'mkdir -p /tmp/chp && echo "$$CHP_ID" > /tmp/chp/id && '
    'for p in $$CHP_PORTS; do httpd -p "$$CHP_BIND$$p" -h /tmp/chp; done; '
    "trap 'exit 0' TERM INT; while :; do sleep 60 & wait $$!; done"
)

from hardener.record import field, record


@record
class Published:
    """One published TCP port: the key the file gives (``host_ip:port``), where it is bound now."""

    key: str
    host_port: int
    target: int


@record
class StandinModel:
    model: dict  # the Compose model to run
    services: list[str]  # every rendered service, sorted
    running: list[str]  # those that are started
    skipped: dict[str, str] = field(default_factory=dict)  # service -> why it is not started
    modes: dict[str, str] = field(default_factory=dict)  # service -> network_mode ("" = networks)
    owners: dict[str, str] = field(default_factory=dict)  # service -> service whose namespace it uses
    alias_of: dict[str, list[str]] = field(default_factory=dict)  # alias -> services it names
    link_aliases: dict[str, dict[str, str]] = field(default_factory=dict)  # service -> {alias: linked service}
    published: dict[str, list[Published]] = field(default_factory=dict)
    listens: dict[str, list[int]] = field(default_factory=dict)  # service -> ports of its stand-in
    internal: dict[str, bool] = field(default_factory=dict)  # network key -> internal
    notes: list[str] = field(default_factory=list)


def _escape(value):
    """Compose interpolates the model it is given: a literal $ is written $$."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [_escape(v) for v in value]
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    return value


def _container_ports(svc: dict) -> list[int]:
    ports: list[int] = []
    for p in svc.get("ports") or []:
        if isinstance(p, dict) and p.get("protocol", "tcp") == "tcp" and str(p.get("target", "")).isdigit():
            ports.append(int(p["target"]))
    for e in svc.get("expose") or []:
        text = str(e)
        if text.endswith("/udp"):
            continue
        first, _, last = text.split("/")[0].partition("-")
        if first.isdigit() and (not last or last.isdigit()):
            hi = int(last) if last else int(first)
            ports.extend(range(int(first), min(hi, int(first) + MAX_LISTEN_PORTS) + 1))
    return ports


def _published_key(host_ip: str, port: str) -> str:
    if not host_ip or host_ip in ("0.0.0.0", "::"):
        host_ip = "127.0.0.1"
    return f"{host_ip}:{port}"


def _owner_of_container(name: str, services: dict) -> str | None:
    for s, svc in services.items():
        if svc.get("container_name") == name:
            return s
    return name if name in services else None


def rewrite(
    rendered: dict,
    *,
    token: str,
    image: str,
    pull: str,
    dns: str | None,
    free_port: Callable[[], int],
) -> StandinModel:
    """The stand-in model of ``rendered`` (Compose's ``config --format json`` output)."""
    services: dict = rendered.get("services") or {}
    if len(services) > MAX_SERVICES:
        raise ValueError(f"{len(services)} services: more than the probe's limit of {MAX_SERVICES}")
    names = sorted(services)
    out = StandinModel(model={}, services=names, running=[])
    notes = out.notes
    dropped: dict[str, list[str]] = {}

    # network_mode first: who shares whose namespace, who cannot start
    for name in names:
        mode = str(services[name].get("network_mode") or "")
        if mode.startswith(("service:", "container:")):
            kind, _, target = mode.partition(":")
            owner = target if kind == "service" else _owner_of_container(target, services)
            if owner is None or owner not in services:
                out.skipped[name] = f"network_mode {mode} names a container outside the project"
                continue
            out.owners[name] = owner
            out.modes[name] = f"service:{owner}"
        else:
            out.modes[name] = mode
    # a service in the namespace of one that cannot start cannot start either
    changed = True
    while changed:
        changed = False
        for name, owner in list(out.owners.items()):
            if owner in out.skipped and name not in out.skipped:
                out.skipped[name] = f"shares the network namespace of {owner}, which is not started"
                changed = True
    running = [n for n in names if n not in out.skipped]
    out.running = running

    new_services: dict = {}
    for name in running:
        svc = services[name]
        mode = out.modes[name]
        # what Docker refuses beside a borrowed namespace or host networking goes
        allowed = ("expose",) if mode.startswith("service:") else SERVICE_KEYS
        new: dict = {k: svc[k] for k in allowed if k in svc and svc[k] not in (None, [], {})}
        if "links" in new:
            links = [x for x in new["links"] if str(x).partition(":")[0] in running] if not mode or mode == "bridge" else []
            if links:
                new["links"] = links
            else:
                del new["links"]
        if mode:
            new["network_mode"] = mode
        elif "networks" in svc:
            nets: dict = {}
            for net, attach in (svc.get("networks") or {}).items():
                attach = attach or {}
                kept = {k: attach[k] for k in NETWORK_ATTACH_KEYS if attach.get(k) not in (None, [], "")}
                aliases = [str(a) for a in kept.get("aliases") or []]
                if svc.get("container_name") and str(svc["container_name"]) not in aliases:
                    aliases.append(str(svc["container_name"]))
                for a in aliases:
                    if name not in out.alias_of.setdefault(a, []):
                        out.alias_of[a].append(name)
                if aliases:
                    kept["aliases"] = aliases
                lost = sorted(k for k in attach if k not in NETWORK_ATTACH_KEYS and attach[k] not in (None, [], ""))
                if lost:
                    dropped.setdefault("static addresses on networks", []).append(name)
                nets[net] = kept or None
            new["networks"] = nets
        for link in svc.get("links") or []:
            target, _, alias = str(link).partition(":")
            if alias and alias != target:
                out.link_aliases.setdefault(name, {})[alias] = target
        deps = svc.get("depends_on") or {}
        relaxed = {
            d: {"condition": "service_started", "required": bool((v or {}).get("required", True))}
            for d, v in deps.items()
            if d in running
        }
        if relaxed:
            new["depends_on"] = relaxed
        # published TCP ports: loopback, at a port of the probe's choosing; a host-mode service
        # listens on the host itself (Docker discards its ports): loopback only, at its own ports
        ports = []
        if mode in ("", "bridge", "host"):
            for p in svc.get("ports") or []:
                if not isinstance(p, dict):
                    continue
                if p.get("protocol", "tcp") != "tcp":
                    dropped.setdefault("UDP/SCTP published ports", []).append(name)
                    continue
                published = str(p.get("published") or "")
                target = int(p["target"])
                if not published.isdigit():
                    dropped.setdefault("ports published at a range or a random port", []).append(name)
                    continue
                host_ip = str(p.get("host_ip") or "")
                if host_ip and host_ip not in ("0.0.0.0", "::"):
                    try:
                        if ipaddress.ip_address(host_ip).version != 4:
                            dropped.setdefault("IPv6 published ports", []).append(name)
                            continue
                    except ValueError:
                        continue
                key = _published_key(host_ip, published)
                if mode == "host":
                    out.published.setdefault(name, []).append(Published(key, int(published), target))
                    continue
                port = free_port()
                out.published.setdefault(name, []).append(Published(key, port, target))
                ports.append({"target": target, "published": str(port), "host_ip": "127.0.0.1", "protocol": "tcp"})
        elif svc.get("ports"):
            dropped.setdefault("ports of services without their own network namespace", []).append(name)
        if ports:
            new["ports"] = ports
        own_ports = sorted(set(_container_ports(svc)) - {PROBE_PORT})
        if mode == "host":
            listens = own_ports[:MAX_LISTEN_PORTS]
        elif mode.startswith("service:") or mode == "none":
            listens = []
        else:
            listens = [PROBE_PORT] + own_ports[:MAX_LISTEN_PORTS - 1]
        out.listens[name] = listens
        if dns and not mode.startswith("service:") and mode != "none":
            new["dns"] = [dns]
        new.update({
            "image": image,
            "pull_policy": pull,
            "entrypoint": ["/bin/sh", "-c"],
            "environment": {"CHP_ID": f"{token}:{name}", "CHP_PORTS": " ".join(map(str, listens)),
                            "CHP_BIND": "127.0.0.1:" if mode == "host" else ""},
            "stop_grace_period": "1s",
            "restart": "no",
        })
        for k in sorted(svc):
            if k not in QUIET_KEYS and svc[k] not in (None, [], {}, ""):
                dropped.setdefault(k, []).append(name)
        if "container_name" in svc and mode:
            dropped.setdefault("container_name (no network of its own to alias it on)", []).append(name)
        command = [LISTEN_SH]
        new = _escape(new)
        new["command"] = command
        new_services[name] = new

    new_networks: dict = {}
    for key, net in sorted((rendered.get("networks") or {}).items()):
        net = net or {}
        new = {}
        if net.get("external"):
            notes.append(f"network {key}: external; probed as a plain network of the probe's own project")
        else:
            if net.get("internal"):
                new["internal"] = True
            driver = net.get("driver")
            if driver not in BRIDGE_DRIVERS:
                notes.append(f"network {key}: driver {driver} probed as a bridge (never attached to the real network)")
            else:
                opts = {k: v for k, v in (net.get("driver_opts") or {}).items() if k not in DROPPED_BRIDGE_OPTS}
                if opts:
                    new["driver_opts"] = opts
            if (net.get("ipam") or {}).get("config"):
                dropped.setdefault("fixed subnets (addresses come from the engine's pool)", []).append(f"network {key}")
            if net.get("enable_ipv6"):
                dropped.setdefault("IPv6 (the probe measures IPv4)", []).append(f"network {key}")
        out.internal[key] = bool(new.get("internal"))
        new_networks[key] = _escape(new) or None
    for kind, who in sorted(dropped.items()):
        notes.append(f"not carried into the stand-ins: {kind} ({', '.join(sorted(set(who)))})")
    for name, why in sorted(out.skipped.items()):
        notes.append(f"{name}: not started: {why}")
    out.model = {"services": new_services}
    if new_networks:
        out.model["networks"] = new_networks
    return out
