"""The names by which services reach each other, and a matcher that finds them in text.

Names are service names, ``container_name``, ``hostname``, network aliases and link aliases.
Three readings of text, from loose to strict:

``value``   a compose value (environment, command, labels): any host-shaped token counts, but
            not a segment of a URL path (``/live``) or a URL's query
``config``  a configuration file: a name counts where it stands like a host (before a port, a
            path or a separator), never in a comment; nginx files are read by their directives
``source``  source code: only host-shaped uses (URLs, ``user@host``, ``host:port``, ``host=``,
            a quoted string that is exactly the name, in the same case)
"""

from __future__ import annotations

import re

from hardener.compose import Project, untag
from hardener.interpolate import interpolate
from hardener.lazyre import LazyRe

# A hostname-shaped token: not glued to other name characters, not a path segment ("/live"), not
# the start of a longer domain, not a URL scheme.
_LOOSE = re.compile(r"(?:(?<=//)|(?<![\w.\-$/]))([A-Za-z0-9_][\w\-]*(?:\.[\w\-]+)*)(?![\w\-]|://)")
# In configuration files a name counts when it stands like a host: after a separator (space,
# "@", "=", ",", a quote or bracket, or the "//" of a URL -- not after a single "/", which is a
# path) and before a port, a path, a separator or the end of the line, as in
# "proxy_pass http://app:8000;", "server app;", "targets: ['node-exporter:9100']". A number
# followed by a unit ("keys_zone=cache:10m") is a size, not a port.
_CONFIG = LazyRe(
    r"(?:^|(?<=//)|(?<=[\s@,='\"(\[]))([A-Za-z0-9_][\w\-]*(?:\.[\w\-]+)*)"
    r"(?=:\d{1,5}(?![\w.])|/|[\s;,'\")\]]|$)",
    re.M,
)
_LINE_COMMENT = LazyRe(r"(?:^|(?<=\s))[#;].*$", re.M)
_XML_COMMENT = LazyRe(r"<!--.*?-->", re.S)


def strip_comments(text: str) -> str:
    """A configuration text without its comments (``#``/``;`` to the end of a line, ``<!-- -->``);
    line breaks inside XML comments are kept so that line numbers stay true."""
    return strip_line_comments(strip_xml_comments(text))


def strip_xml_comments(text: str) -> str:
    if "<!--" in text:
        text = _XML_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return text


def strip_line_comments(text: str) -> str:
    if "#" not in text and ";" not in text:
        return text
    return _LINE_COMMENT.sub("", text)


# Up to this many names, a configuration text is first searched for the names themselves (a fast
# substring search per name) and only the lines holding one are read token by token (a compose
# value or a source file holding none is not read at all); with more names than this, reading
# every token of the text is the cheaper way.
SEARCH_NAMES_UP_TO = 64


def ascii_lower(text: str) -> str | None:
    """``text`` in lower case, for a keyword search before a ``re.I`` pattern is tried: ASCII
    text only (``re.I`` matches "ſ" to "s" and "ı" to "i", and ``str.lower`` does not), None for
    other text, which every pattern then reads whole."""
    return text.lower() if text.isascii() else None


def lines_containing(text: str, needles: list[str], low: str | None = None) -> str:
    """The lines of ``text`` that contain one of ``needles`` (lower case; compared with the text
    in lower case), in order, joined by line breaks. Every pattern read from configuration here
    matches within a line, so reading these lines finds what reading the whole text finds.
    Callers that compare in lower case use it on ASCII text only (:func:`ascii_lower`). ``low``:
    the text in lower case, if the caller has it."""
    low = text.lower() if low is None else low
    if len(low) != len(text):  # lower-casing changed the length (rare letters): line by line
        return "\n".join(line for line, lw in zip(text.split("\n"), low.split("\n")) if any(n in lw for n in needles))
    starts: set[int] = set()
    for n in needles:
        i = low.find(n)
        while i >= 0:
            starts.add(low.rfind("\n", 0, i) + 1)
            end = low.find("\n", i)
            if end < 0:
                break
            i = low.find(n, end)
    out = []
    for start in sorted(starts):
        end = text.find("\n", start)
        out.append(text[start:] if end < 0 else text[start:end])
    return "\n".join(out)
# In source code only host-shaped uses count.
_STRONG = LazyRe(
    r"(?:://|@|(?<![\w.\-])(?=[A-Za-z0-9_][\w\-.]*:\d)|['\"`]|host\w*\s*[=:]\s*['\"]?)"
    r"([A-Za-z0-9_][\w\-]*(?:\.[\w\-]+)*)(?=:\d|['\"`/?]|[\s;,)\]}]|$)",
    re.I,
)


def hostnames(project: Project, env: dict[str, str], alias_networks: dict[str, str]) -> dict[str, str]:
    """hostname (lower case) -> service; fills ``alias_networks`` (alias -> the network it is on)."""
    names: dict[str, str] = {name.lower(): name for name in project.services}
    for name, svc in project.services.items():
        data = svc.data
        for key in ("container_name", "hostname"):
            v = untag(data.get(key))
            if isinstance(v, str) and v.strip():
                names.setdefault(interpolate(v, env).strip().lower(), name)
        nets = untag(data.get("networks"))
        if isinstance(nets, dict):
            for net, cfg in nets.items():
                cfg = untag(cfg)
                if isinstance(cfg, dict):
                    for alias in untag(cfg.get("aliases")) or []:
                        if isinstance(alias, str):
                            key = interpolate(alias, env).lower()
                            names.setdefault(key, name)
                            if key != name.lower():
                                alias_networks.setdefault(key, interpolate(str(net), env))
        for link in untag(data.get("links")) or []:
            if isinstance(link, str) and ":" in link:
                target, alias = link.split(":", 1)
                if target in project.services:
                    names.setdefault(alias.lower(), target)
    return {k: v for k, v in names.items() if k}


class HostnameMatcher:
    """Finds other services' hostnames in text by looking every name-shaped token up."""

    def __init__(self, hostnames: dict[str, str]):
        self.hostnames = hostnames

    def find(self, text: str, kind: str = "value") -> list[tuple[str, str]]:
        """(hostname as written, service) pairs found in a compose value, a config file or source."""
        if not text or not self.hostnames:
            return []
        rx = {"value": _LOOSE, "config": _CONFIG, "source": _STRONG}[kind]
        if kind != "config" and len(self.hostnames) <= SEARCH_NAMES_UP_TO:
            # every name found is one of the names, lower-cased: none in the text, none found
            low = ascii_lower(text)
            if low is not None and not any(n in low for n in self.hostnames):
                return []
        if kind == "config":
            text = strip_xml_comments(text)
            low = ascii_lower(text) if len(self.hostnames) <= SEARCH_NAMES_UP_TO else None
            if low is not None:
                present = [n for n in self.hostnames if n in low]
                if not present:
                    return []
                text = lines_containing(text, present, low)
            text = strip_line_comments(text)  # "# upstream db" in a comment is not a host
        out = []
        get = self.hostnames.get
        exact = kind == "source"
        for m in rx.finditer(text):
            word = m.group(m.lastindex or 1)
            if word.endswith("."):
                word = word.rstrip(".")
            key = word.lower()
            if exact and word != key:
                continue  # source: 'Cart' is a class, "cart" may be the host
            svc = get(key)
            if svc:
                out.append((word, svc))
        return out

    def hosts(self, hosts: list[str]) -> list[tuple[str, str]]:
        """(host, service) for hosts a proxy parser read (already exact host positions)."""
        out = []
        for h in hosts:
            svc = self.hostnames.get(h.lower().rstrip("."))
            if svc:
                out.append((h, svc))
        return out
