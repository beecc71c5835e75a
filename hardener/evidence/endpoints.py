"""External endpoints a service names: the hosts outside the stack it connects to, and whether
that traffic is HTTP(S).

Read from environment values (``${VAR:-default}`` resolved), ``env_file`` files and the
command: URLs (``https://api.example.com``, ``smtp://mail.example.net:587``), ``host:port``, and
dotted host names in variables whose key says what they are (``SMTP_HOST``, ``DB_HOST``, ...).
A host is outside when it is not a name of the stack, not loopback, and looks like a domain or
an address (:func:`hardener.evidence.outbound.outside`). The egress gateway routes a service
only when its outbound traffic is HTTP(S) or unknown, and allows these hosts in enforce mode.
"""

from __future__ import annotations

import os
import re

from hardener.compose import Project, as_mapping, command_texts
from hardener.evidence.environment import service_base, variable_values
from hardener.evidence.model import Analysis
from hardener.evidence.outbound import outside
from hardener.interpolate import interpolate, unresolved
from hardener.lazyre import LazyRe
from hardener.record import record
from hardener.scan import FileReader, env_files, read_env_file_safe

HTTP_SCHEMES = frozenset({"http", "https", "ws", "wss"})
NON_HTTP_PORTS = frozenset({21, 22, 25, 110, 143, 389, 465, 587, 636, 993, 995, 1433, 1521, 1883, 3306, 4222,
                            5432, 5671, 5672, 6379, 8883, 9092, 11211, 27017})
HTTP_PORTS = frozenset({80, 443, 8080, 8443})
_URL = LazyRe(r"\b([a-z][a-z0-9+.\-]*)://(?:[^/@\s'\"]*@)?(\[[0-9a-f:]+\]|[A-Za-z0-9_][\w.\-]*)(?::(\d{1,5}))?", re.I)
_HOSTPORT = LazyRe(r"(?<![\w.\-/@:])([A-Za-z0-9][\w\-]*(?:\.[\w\-]+)+):(\d{1,5})\b")
_BARE_HOST = re.compile(r"[A-Za-z0-9][\w\-]*(?:\.[\w\-]+)+")
_NON_HTTP_KEY = LazyRe(r"SMTP|MAIL|IMAP|POP3|LDAP|(?:^|_)DB(?:_|$)|DATABASE|POSTGRES|PG|MYSQL|MARIADB|MONGO|REDIS|AMQP|"
                       r"RABBIT|MQTT|KAFKA|NATS|SFTP|FTP|SSH", re.I)
_HOST_KEY = LazyRe(r"HOST|SERVER|ENDPOINT|ADDR|DOMAIN|URL|URI", re.I)
# the server of a protocol that is never HTTP, named by the key: GOTRUE_SMTP_HOST, MAIL_SERVER, LDAP_HOST
_MAIL_SERVER_KEY = LazyRe(r"(?:SMTP|MAIL|IMAP|POP3?|LDAP)\w*?_?(?:HOST|SERVER|HOSTNAME)$", re.I)
_NAME = re.compile(r"[A-Za-z0-9][\w\-.]*")


@record(frozen=True)
class Endpoint:
    """A host outside the stack that a service names (URL, host variable or endpoint setting)."""

    host: str
    port: int | None
    http: bool  # HTTP(S) (or not known to be anything else)
    where: str

    @property
    def shown(self) -> str:
        return f"{self.host}:{self.port}" if self.port else self.host


def _kind(scheme: str | None, port: int | None, key: str) -> bool:
    """Is it HTTP(S) -- or unknown, which is treated as HTTP(S)?"""
    if scheme:
        s = scheme.lower()
        if s in HTTP_SCHEMES:
            return True
        return False  # smtp, postgres, redis, amqp, ldap, mqtt, s3 (an SDK: HTTPS underneath is not certain)...
    if port in HTTP_PORTS:
        return True
    if port in NON_HTTP_PORTS:
        return False
    return not _NON_HTTP_KEY.search(key)


def scan(text: str, key: str, where: str, names: dict[str, str]) -> list[Endpoint]:
    out: list[Endpoint] = []
    seen: set[str] = set()
    # each pattern is tried only on text that has what it needs ("://"; a dot and a colon): most
    # values have neither, and a failed search still reads every character
    for m in (_URL.finditer(text) if "://" in text else ()):
        scheme, host, port = m.group(1), m.group(2).strip("[]"), m.group(3)
        if outside(host, names):
            p = int(port) if port else None
            out.append(Endpoint(host.lower(), p, _kind(scheme, p, key) if scheme.lower() not in ("s3",) else True, where))
            seen.add(host.lower())
    for m in (_HOSTPORT.finditer(text) if ":" in text and "." in text else ()):
        host, port = m.group(1).lower(), int(m.group(2))
        if host not in seen and outside(host, names):
            out.append(Endpoint(host, port, _kind(None, port, key), where))
            seen.add(host)
    value = text.strip()
    if not out and _HOST_KEY.search(key) and _BARE_HOST.fullmatch(value) and outside(value, names):
        out.append(Endpoint(value.lower(), None, _kind(None, None, key), where))
    return out


def host_of(value: str) -> str:
    """The host a URL or ``host[:port]`` value names, lower case (scheme, user, path, port and
    IPv6 brackets removed): ``smtp://u:p@Mail.example.net:587/`` -> ``mail.example.net``."""
    return value.split("://", 1)[-1].split("@")[-1].split("/")[0].rsplit(":", 1)[0].strip("[]").lower()


def mail_server(key: str, raw: str, text: str, env: dict[str, str], names: dict[str, str], where: str) -> list[Endpoint]:
    """The server a mail or directory variable names (``SMTP_HOST=smtp``, ``GOTRUE_SMTP_HOST=${SMTP_HOST}``)
    when it is not a service of this stack: mail and LDAP servers are outside the stack, and the
    protocol is not HTTP, whether or not the name has a dot. A value set only when the stack runs
    (a variable neither ``.env`` nor a default gives) counts too: the service will connect to it."""
    if not _MAIL_SERVER_KEY.search(key):
        return []
    missing = unresolved(raw, env)
    if missing and not text.strip():
        return [Endpoint(f"${{{missing[0]}}}", None, False, where + " (set when the stack runs)")]
    host = host_of(text.strip())
    if not host or not _NAME.fullmatch(host) or host in names or host in ("localhost", "127.0.0.1", "::1"):
        return []
    return [Endpoint(host, None, False, where)]


def collect(project: Project, a: Analysis, reader: FileReader) -> None:
    env = project.env
    for name, svc in project.services.items():
        data = svc.data
        found: list[Endpoint] = []
        for k, v in variable_values(as_mapping(data.get("environment")), env):
            text = interpolate(v, env)
            hits = scan(text, k, f"environment {k}", a.hostnames)
            found += hits or mail_server(k, v, text, env, a.hostnames, f"environment {k}")
        for path in env_files(data, service_base(project, name)):
            rel = os.path.relpath(path, project.directory)
            for k, v in (read_env_file_safe(path, reader) or {}).items():
                text = interpolate(v, env)
                hits = scan(text, k, f"env_file {rel}: {k}", a.hostnames)
                found += hits or mail_server(k, v, text, env, a.hostnames, f"env_file {rel}: {k}")
        for where, text in command_texts(data):
            if where != "healthcheck":
                found += scan(interpolate(text, env), "", where, a.hostnames)
        if found:
            a.endpoints[name] = found
