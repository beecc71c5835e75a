"""Why a service on the host's network needs it (evidence for keeping ``network_mode: host``).

* It reaches something on the host through ``localhost`` / ``127.0.0.1``: an upstream URL in its
  command, entrypoint, environment or configuration (``cloudflared tunnel --url
  http://localhost:8080``, Prometheus scraping ``localhost:9100``). Off the host's network that
  address would be the container itself.
* It manages the host's network: ``cap_add: NET_ADMIN`` / ``NET_RAW`` or ``privileged`` with host
  networking (a mail suite's firewall agent rewriting the host's iptables, a VPN agent).
* It is a client that listens on nothing (the image table's ``client`` flag: tunnels run with a
  token, DDNS updaters): its targets may be on the host, and it publishes nothing anyway.
"""

from __future__ import annotations

import re

from hardener.compose import Project, untag
from hardener.evidence.model import Analysis
from hardener.hostmode import discover_ports, localhost_references
from hardener.interpolate import interpolate
from hardener.scan import ConfigText

_LOCAL_URL = re.compile(r"(?<![\w.\-])(?:localhost|127\.0\.0\.1|\[::1\]):(\d{2,5})\b", re.I)
_NET_CAPS = frozenset({"NET_ADMIN", "NET_RAW", "CAP_NET_ADMIN", "CAP_NET_RAW", "ALL"})


def collect(project: Project, a: Analysis, read: dict[str, list[tuple[ConfigText, str | None]]]) -> None:
    env = project.env
    for name, svc in project.services.items():
        data = svc.data
        mode = untag(data.get("network_mode"))
        if not isinstance(mode, str) or interpolate(mode, env) != "host":
            continue
        t = a.tiers[name]
        own = discover_ports(data, t, env)
        local = localhost_references(data, own, env)
        if local:
            a.host_reasons[name] = ("host-network-localhost", f"{local[0]} reaches something on the host through localhost")
            continue
        own_numbers = {p.number for p in own.numbers()}
        for ct, _ in read.get(name, []):
            m = next((m for m in _LOCAL_URL.finditer(ct.text) if int(m.group(1)) not in own_numbers), None)
            if m:
                a.host_reasons[name] = ("host-network-localhost", f"config {ct.where} reaches {m.group(0)} on the host through localhost")
                break
        if name in a.host_reasons:
            continue
        caps = {str(untag(c)).upper() for c in untag(data.get("cap_add")) or []}
        if caps & _NET_CAPS or untag(data.get("privileged")) is True:
            which = "privileged" if untag(data.get("privileged")) is True else "cap_add " + ", ".join(sorted(caps & _NET_CAPS))
            a.host_reasons[name] = ("host-network-required", f"it manages the host's network ({which})")
            continue
        if "client" in t.flags:
            a.host_reasons[name] = ("host-network-client", f"{t.info.key if t.info else 'it'} is a client that listens on nothing; what it reaches may be on the host")
