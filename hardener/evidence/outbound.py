"""Evidence that a service calls out of the stack: object-storage endpoints, WAL archiving and
backups to external storage, plugins installed at start, replication to hosts outside the
stack, and URLs of external hosts in its environment, command or configuration.

For a data store this decides whether it keeps a way out: a store with such evidence is not
sealed on an internal network (it is reported instead). Hosts are judged as written, after
interpolation: a name that is a service of the stack, ``localhost`` or a loopback address is
inside; a dotted name or a public-looking address is outside.
"""

from __future__ import annotations

import re

from hardener.compose import Project, as_mapping, command_texts
from hardener.evidence.environment import variable_values
from hardener.evidence.hostnames import ascii_lower, lines_containing, strip_line_comments, strip_xml_comments
from hardener.evidence.model import Analysis
from hardener.interpolate import interpolate
from hardener.lazyre import LazyRe
from hardener.scan import ConfigText
from hardener.show import clip

# keys that point a store at external storage or at a primary/replica elsewhere
_STORAGE_KEY = LazyRe(
    r"(?:^|_)(?:S3|GCS|AZURE|WALG|WALE|PGBACKREST|ARCHIVE|BACKUP|SNAPSHOT|REPLICA|REPLICAOF|MASTER|PRIMARY|UPSTREAM|"
    r"MINIO_ENDPOINT|ENDPOINT|BUCKET|REMOTE)",
    re.I,
)
_URL = LazyRe(r"\b(?:https?|s3|gs|wasb|wasbs|azure|tcp|ftp|sftp|postgres(?:ql)?|mysql|redis|amqp|nats)://(?:[^/@\s]*@)?([A-Za-z0-9_][\w.\-]*)", re.I)
_ENDPOINT = LazyRe(r"\bendpoint\s*[:=]\s*['\"]?(?:https?://)?([A-Za-z0-9_][\w.\-]*\.[A-Za-z]{2,})", re.I)
_REPLICAOF = LazyRe(r"^\s*(?:replicaof|slaveof)\s+(\S+)", re.M | re.I)
_COMMANDS = (
    (LazyRe(r"\b(?:elasticsearch|opensearch)-plugin\s+install\b|\bbin/plugin\s+install\b"), "installs plugins at start"),
    (LazyRe(r"\barchive_command\s*=?\s*['\"]?[^'\"\n]*\b(?:wal-g|wal-e|pgbackrest|aws|rclone|gsutil|azcopy|curl|s3cmd)\b"), "archives WAL to external storage"),
    (LazyRe(r"\b(?:wal-g|wal-e)\s+(?:backup-push|wal-push)\b"), "pushes backups with WAL-G"),
    (LazyRe(r"\b(?:apt-get|apk|yum|dnf)\s+(?:add|install)\b|\bpip3?\s+install\b|\bnpm\s+install\b"), "installs packages at start"),
    (LazyRe(r"--(?:replicaof|slaveof)\s+(\S+)"), "replicates from {0}"),
)


def outside(host: str, services: dict[str, str]) -> bool:
    """Is ``host`` (as written) outside the stack?"""
    h = host.lower().rstrip(".")
    if not h or h in services or h in ("localhost", "0.0.0.0") or "$" in h or "{" in h:
        return False
    if h[0].isdigit() or ":" in h:  # an IPv4 address starts with a digit, an IPv6 one has a colon
        import ipaddress  # only then: a stack names hosts, rarely addresses

        try:
            ip = ipaddress.ip_address(h)
            return not (ip.is_loopback or ip.is_unspecified)
        except ValueError:
            pass
    return "." in h and not h.endswith((".local", ".internal", ".localhost", ".svc", ".lan"))


def _first_outside(rx: LazyRe, text: str, services: dict[str, str]) -> str | None:
    """The first host the pattern captures in ``text`` that is outside the stack."""
    for m in rx.finditer(text):
        if outside(m.group(1), services):
            return m.group(1)
    return None


def _scan(text: str, where: str, services: dict[str, str], out: list[str], keyed: bool) -> None:
    host = _first_outside(_URL, text, services) if "://" in text else None
    if host:
        out.append(f"{where} names {clip(host, 60)}")
        return
    low = ascii_lower(text)
    host = _first_outside(_ENDPOINT, text, services) if low is None or "endpoint" in low else None
    if host:
        out.append(f"{where} names endpoint {clip(host, 60)}")
        return
    if keyed:
        v = text.strip()
        host = re.split(r"[:/\s]", v, maxsplit=1)[0]
        if v.startswith("s3://") or v.startswith("gs://"):
            out.append(f"{where} points at {clip(v, 60)}")
        elif outside(host, services):
            out.append(f"{where} names {clip(host, 60)}")


def _scan_config(text: str, where: str, services: dict[str, str], out: list[str]) -> None:
    """:func:`_scan` and replication for a configuration text without its comments. A URL lies
    within one line, so only the lines holding "://" are read for URLs (a Grafana dashboard is
    hundreds of kilobytes); the other patterns are looked for only when their keyword is there."""
    text = strip_xml_comments(text)
    low = ascii_lower(text)
    host = _first_outside(_URL, strip_line_comments(lines_containing(text, ["://"], low)), services) if "://" in text else None
    if host:
        out.append(f"{where} names {clip(host, 60)}")
    elif low is None or "endpoint" in low:
        host = _first_outside(_ENDPOINT, strip_line_comments(text), services)
        if host:
            out.append(f"{where} names endpoint {clip(host, 60)}")
    if low is None or "replicaof" in low or "slaveof" in low:
        m = _REPLICAOF.search(strip_line_comments(text))
        if m and outside(m.group(1), services):
            out.append(f"{where} replicates from {m.group(1)}")


def collect(project: Project, a: Analysis, read: dict[str, list[tuple[ConfigText, str | None]]]) -> None:
    env = project.env
    services = a.hostnames
    for name, svc in project.services.items():
        data = svc.data
        found: list[str] = []
        for k, v in variable_values(as_mapping(data.get("environment")), env):
            v = interpolate(v, env)
            keyed = bool(_STORAGE_KEY.search(k))
            if keyed or v.startswith(("s3://", "gs://")):
                _scan(v, f"environment {k}", services, found, keyed)
        for where, text in command_texts(data):
            text = interpolate(text, env)
            for rx, what in _COMMANDS:
                m = rx.search(text)
                if m:
                    target = m.group(1) if m.groups() else None
                    if target is None or outside(target.split(":")[0], services):
                        found.append(f"{where} {what.format(target)}")
            if where != "healthcheck":
                _scan(text, where, services, found, False)
        for ct, dialect in read.get(name, []):
            if dialect is None:
                _scan_config(ct.text, f"config {ct.where}", services, found)
        for item in found:
            a.add_outbound(name, item)
