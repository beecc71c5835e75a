"""``network_mode: host``: is it justified, and which ports must be published when it goes.

Justified means a comment on or directly above the ``network_mode`` line,
``# compose-harden: allow host-network -- <reason>``, or ``x-compose-harden: {allow:
[host-network], reason: ...}`` on the service. A marker without a reason does not justify.
"""

from __future__ import annotations

import re

from hardener import ports as portspec
from hardener.classify import Tier, service_options
from hardener.compose import as_mapping, command_texts, untag
from hardener.interpolate import interpolate
from hardener.knowledge import Port
from hardener.lazyre import LazyRe
from hardener.record import record

MARKER = LazyRe(r"#.*?compose-harden:\s*allow\s+host-network\b(?:\s*--\s*(?P<reason>\S.*?))?\s*$")


@record
class Justification:
    """Whether ``network_mode: host`` has a documented reason, and where it is written."""

    justified: bool
    reason: str | None
    where: str  # "comment" | "x-compose-harden" | ""
    marker_without_reason: bool = False


def comment_justification(lines: list[str], key_line: int) -> Justification:
    """Look at the ``network_mode`` line (0-based index) and the comment lines directly above it."""
    candidates = [lines[key_line]] if key_line < len(lines) else []
    i = key_line - 1
    while i >= 0 and lines[i].lstrip().startswith("#"):
        candidates.append(lines[i])
        i -= 1
    bare = False
    for text in candidates:
        m = MARKER.search(text.rstrip("\r"))
        if m:
            if m.group("reason"):
                return Justification(True, m.group("reason"), "comment")
            bare = True
    return Justification(False, None, "", marker_without_reason=bare)


def option_justification(data: dict) -> Justification:
    opts = service_options(data)
    allow = untag(opts.get("allow"))
    allow = [allow] if isinstance(allow, str) else allow if isinstance(allow, list) else []
    if "host-network" in [untag(a) for a in allow]:
        reason = untag(opts.get("reason"))
        if isinstance(reason, str) and reason.strip():
            return Justification(True, reason.strip(), "x-compose-harden")
        return Justification(False, None, "", marker_without_reason=True)
    return Justification(False, None, "")


# A URL with the host's own address: in a healthcheck it is the service checking itself; in a
# command only a wildcard address (0.0.0.0, [::], none) is where it listens -- a localhost URL
# there is an upstream it reaches ("cloudflared tunnel --url http://localhost:8080").
_URL_PORT = LazyRe(r"\b(?:https?|tcp|grpc|ws)://(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1?\]|\$\{?HOSTNAME\}?)?:(\d{2,5})\b")
_WILDCARD = frozenset({None, "", "0.0.0.0", "[::]"})
_FLAG_PORT = LazyRe(
    r"--(?:port|http-port|https-port|web-port|listen-port|server\.port|http\.port)[= ](\d{2,5})\b"
    r"|--(?:web\.listen-address|listen-address|listen|bind|address|addr|http-addr|http\.addr|listen-addr)[= ]\S*?:(\d{2,5})\b"
)
# The port a service itself listens on: PORT, HTTP_PORT, GF_SERVER_HTTP_PORT, WEBUI_PORT -- not
# DB_PORT or REDIS_PORT, which name the port of something it connects to.
_ENV_PORT_KEYS = LazyRe(r"(?:^|_)(?:PORT|(?:WEB|WEBUI|WEB_UI|HTTP|HTTPS|LISTEN|SERVER|APP|UI|API)_PORT)$", re.I)
_ENV_CLIENT_PORT = LazyRe(r"(?:DB|DATABASE|REDIS|POSTGRES|PG|MYSQL|MARIADB|MONGO|SMTP|MAIL|CACHE|AMQP|RABBITMQ|KAFKA|LDAP)_", re.I)
_ENV_ADDR_KEYS = LazyRe(r"LISTEN|BIND", re.I)


@record
class PortDiscovery:
    """The ports a host-mode service listens on, each with where it was found."""

    ports: list[tuple[Port, str]]  # port and where it was found

    def numbers(self) -> list[Port]:
        return [p for p, _ in self.ports]


def discover_ports(data: dict, tier: Tier, env: dict[str, str]) -> PortDiscovery:
    found: list[tuple[Port, str]] = []

    def add(port: Port | None, where: str) -> None:
        if port and 0 < port.number < 65536 and all(p != port for p, _ in found):
            found.append((port, where))

    for e in untag(data.get("expose")) or []:
        s = portspec.parse(interpolate(str(untag(e)), env))
        if s and s.target:
            add(Port(s.target, s.protocol, s.target_last), "expose")
    for where, text in command_texts(data):
        text = interpolate(text, env)
        for m in _URL_PORT.finditer(text):
            if where == "healthcheck" or m.group(1) in _WILDCARD:
                add(Port(int(m.group(2))), f"{where} URL")
        for m in _FLAG_PORT.finditer(text):
            add(Port(int(m.group(1) or m.group(2))), f"{where} flag")
    for k, v in as_mapping(data.get("environment")).items():
        if v is None:
            continue
        v = interpolate(str(v), env).strip()
        if _ENV_PORT_KEYS.search(k) and not _ENV_CLIENT_PORT.search(k) and v.isdigit():
            add(Port(int(v)), f"environment {k}")
        elif _ENV_ADDR_KEYS.search(k):
            m = re.search(r":(\d{2,5})$", v)
            if m:
                add(Port(int(m.group(1))), f"environment {k}")
    # The image's documented ports only when the file says nothing: a file that moves the port
    # (--port 8081, GF_SERVER_HTTP_PORT) means the default is not where it listens, and two such
    # services would otherwise clash on the default.
    if not found:
        for p in tier.default_ports:
            add(p, f"image default for {tier.info.key if tier.info else 'the image'}")
    return PortDiscovery(found)


def already_published(data: dict) -> set[tuple[int, str]]:
    """(container port, protocol) pairs the service's ports already cover."""
    out = set()
    for s in portspec.specs(data.get("ports")):
        if s.target:
            out.update((n, s.protocol) for n in range(s.target, (s.target_last or s.target) + 1))
    return out


def covered(port: Port, published: set[tuple[int, str]]) -> bool:
    return all((n, port.protocol) in published for n in range(port.number, (port.last or port.number) + 1))


def port_entry(port: Port, long_form: bool = False) -> str | dict:
    """``"8080:8080"``, ``"9000-9002:9000-9002"`` (or the long syntax, when the service's ports
    already use it)."""
    span = f"{port.number}-{port.last}" if port.last else str(port.number)
    if long_form:
        entry: dict = {"target": span if port.last else port.number, "published": span}
        if port.protocol == "udp":
            entry["protocol"] = "udp"
        return entry
    return f"{span}:{span}/udp" if port.protocol == "udp" else f"{span}:{span}"



_LOCALHOST = LazyRe(r"(?<![\w.\-])(?:localhost|127\.0\.0\.1|\[::1\]|::1)(?::(\d{2,5}))?(?![\w\-])", re.I)


def localhost_references(data: dict, own_ports: PortDiscovery, env: dict[str, str]) -> list[str]:
    """Environment values and commands of a host-mode service that reach *other* things on the
    host through localhost (its own listening ports and healthchecks do not count)."""
    own = {p.number for p in own_ports.numbers()}
    texts = [(f"environment {k}", str(v)) for k, v in as_mapping(data.get("environment")).items() if v is not None]
    texts += [(w, t) for w, t in command_texts(data) if w != "healthcheck"]
    out = []
    for where, text in texts:
        text = interpolate(text, env)
        for m in _LOCALHOST.finditer(text):
            port = m.group(1)
            if port and int(port) in own:
                continue
            if not port and not re.search(r"HOST|ADDR|URL|URI|DSN|SERVER", where, re.I):
                continue
            if _FLAG_PORT.search(text[max(0, m.start() - 40):m.end()]):
                continue  # its own listen address
            out.append(f"{where} ({m.group(0)})")
            break
    return out
