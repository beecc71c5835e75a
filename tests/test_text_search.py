"""Shortcuts in reading configuration text find exactly what reading every token finds.

Large configuration files (a Grafana dashboard is hundreds of kilobytes) are searched for the
service names first and only the lines holding one are read token by token; a compose value or a
source file holding none of the names is not read token by token at all; URLs are read only on
lines holding "://"; proxy dialects are recognised by a keyword before their pattern is tried; a
report masks a service's name without a regular expression per service. Each shortcut is compared
here with the full reading it replaces, on generated text.
"""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hardener.evidence  # noqa: F401  (loads the submodules)
from hardener.evidence.proxies import apache, cloudflared, traefik, varnish
from hardener.report import _masked

hostnames = sys.modules["hardener.evidence.hostnames"]
outbound = sys.modules["hardener.evidence.outbound"]

NAMES = ["db", "api", "redis-cache", "web.internal", "app_1"]
PIECES = NAMES + [
    "DB", "Api", " ", "  ", "\n", "\n\n", "\t", "#", ";", "<!--", "-->", "://", "http", "https://", "s3://bucket",
    "minio.example.com", "endpoint", "Endpoint: ", "replicaof ", "slaveof", ":5432", ":10m", "/", "@", "=", ",",
    "'", '"', "(", ")", "[", "]", "{", "}", ".", "-", "_", "x", "İ", "ß", "proxy_pass", "upstream", "example.org",
    "localhost", "10.0.0.1",
    # letters re.I folds to ASCII ones that str.lower() does not: long s, dotless i, dotted I, Kelvin
    "\u017flaveof", "endpo\u0131nt", "\u0130", "\u212a", "ProxyPa\u017f\u017f",
]
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
name_sets = st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True)


def full_find(names: list[str], text: str, kind: str = "config") -> list[tuple[str, str]]:
    """The whole text read token by token, as before the name search."""
    matcher = hostnames.HostnameMatcher({n: n.upper() for n in names})
    old = hostnames.SEARCH_NAMES_UP_TO
    hostnames.SEARCH_NAMES_UP_TO = -1
    try:
        return matcher.find(text, kind)
    finally:
        hostnames.SEARCH_NAMES_UP_TO = old


@settings(max_examples=400, deadline=None)
@given(text=texts, names=name_sets)
def test_config_search_finds_what_every_token_finds(text, names):
    matcher = hostnames.HostnameMatcher({n: n.upper() for n in names})
    assert matcher.find(text, "config") == full_find(names, text)


@pytest.mark.parametrize("kind", ["value", "source"])
@settings(max_examples=300, deadline=None)
@given(text=texts, names=name_sets)
def test_a_value_or_source_without_any_name_is_not_read_token_by_token(kind, text, names):
    """A compose value or a source file holding none of the names (in lower case) finds nothing
    without the token reading; one that holds one finds what the token reading finds."""
    matcher = hostnames.HostnameMatcher({n: n.upper() for n in names})
    assert matcher.find(text, kind) == full_find(names, text, kind)


@settings(max_examples=300, deadline=None)
@given(text=texts, needles=st.lists(st.sampled_from(NAMES + ["://"]), min_size=1, max_size=3))
def test_lines_containing_keeps_exactly_the_lines_with_a_needle(text, needles):
    expected = [line for line in text.split("\n") if any(n in line.lower() for n in needles)]
    assert hostnames.lines_containing(text, needles) == "\n".join(expected)


def full_outbound(text: str, services: dict[str, str]) -> list[str]:
    """The whole text without comments through every pattern, as before."""
    out: list[str] = []
    stripped = hostnames.strip_comments(text)
    outbound._scan(stripped, "config c", services, out, False)
    m = outbound._REPLICAOF.search(stripped)
    if m and outbound.outside(m.group(1), services):
        out.append(f"config c replicates from {m.group(1)}")
    return out


@settings(max_examples=400, deadline=None)
@given(text=texts, names=name_sets)
def test_outbound_config_scan_finds_what_the_full_scan_finds(text, names):
    services = {n: n for n in names}
    out: list[str] = []
    outbound._scan_config(text, "config c", services, out)
    assert out == full_outbound(text, services)


@pytest.mark.parametrize("module,pattern,flags", [
    (apache, r"^\s*(?:<VirtualHost|ProxyPass|ServerRoot|LoadModule|DocumentRoot)\b", re.M | re.I),
    (cloudflared, None, 0),
    (traefik, r"\b(?:loadBalancer|routers|entryPoints|providers)\b", 0),
    (varnish, r"^\s*vcl\s+4", re.M),
])
@settings(max_examples=150, deadline=None)
@given(text=st.lists(st.sampled_from(PIECES + [
    "<VirtualHost", "ProxyPass", "loadmodule", "ingress:", "tunnel:", "credentials-file:", "loadBalancer",
    "routers", "entryPoints", "vcl 4", "VCL", "providers"]), max_size=30).map("".join))
def test_dialect_keywords_decide_as_the_patterns_do(module, pattern, flags, text):
    for path in ("x.yml", "x.conf", "x.toml"):
        if module is cloudflared:
            expected = bool(re.search(r"^\s*ingress\s*:", text, re.M)) and bool(
                re.search(r"^\s*(?:tunnel|credentials-file)\s*:", text, re.M))
        elif module is traefik and not path.endswith((".yml", ".yaml", ".toml")):
            expected = False
        else:
            expected = bool(re.search(pattern, text, flags))
        assert module.detect(path, text) == expected


@settings(max_examples=400, deadline=None)
@given(text=st.lists(st.sampled_from(["db", "db-1", "x.db", "db.", "_db", " ", ":", "é", "dbx", "-"]),
                     max_size=12).map("".join),
       name=st.sampled_from(["db", "db-1", "d"]))
def test_masked_name_is_the_whole_name_pattern(text, name):
    expected = re.sub(r"(?<![\w.\-])" + re.escape(name) + r"(?![\w\-])", "<service>", text)
    assert _masked(text, name) == expected


@settings(max_examples=200, deadline=None)
@given(text=st.lists(st.sampled_from(PIECES + [
    "<VirtualHost", "_format_version", "ingress:", "tunnel:", "server {", "location /", "backend app",
    "static_resources", "routers", '"dial"', '"handler"', "vcl 4"]), max_size=30).map("".join),
       first=st.sampled_from(["", "nginx.conf", "x.json", "haproxy.cfg", "Caddyfile", "x.vcl", "x.toml"]),
       second=st.sampled_from(["config nginx/default.conf", "config traefik.yml", "config x.txt", "envoy.yaml"]))
def test_dialect_of_a_text_known_by_two_names(text, first, second):
    """Asked with both names at once, the same answer as asking by the first, then the second
    (a dialect read from the text alone is asked once)."""
    from hardener.evidence.proxies import dialect_of

    assert dialect_of(first, text, second) == (dialect_of(first, text) or dialect_of(second, text))


@pytest.mark.parametrize("text", [
    "endpo\u0131nt=minio.example.com\n",  # dotless i: re.I reads it as "i"
    "\u017flaveof example.org 6379\n",  # long s: re.I reads it as "s"
    "ENDPOINT: s3.example.com\n",
    "# replicaof example.org 6379\n",
])
def test_outbound_config_keywords_fold_case_as_the_patterns_do(text):
    out: list[str] = []
    outbound._scan_config(text, "config c", {}, out)
    assert out == full_outbound(text, {})


def test_apache_keywords_fold_case_as_the_pattern_does():
    assert apache.detect("x.conf", "<VirtualHo\u017ft *:80>\n  ProxyPass / http://app:8080/\n")
    assert not apache.detect("x.conf", "# nothing here\n")


def outside_reference(host: str, services: dict[str, str]) -> bool:
    """outbound.outside as it was: every host given to ipaddress first."""
    import ipaddress

    h = host.lower().rstrip(".")
    if not h or h in services or h in ("localhost", "0.0.0.0") or "$" in h or "{" in h:
        return False
    try:
        ip = ipaddress.ip_address(h)
        return not (ip.is_loopback or ip.is_unspecified)
    except ValueError:
        pass
    return "." in h and not h.endswith((".local", ".internal", ".localhost", ".svc", ".lan"))


HOST_PIECES = ["1", "10", "127", "0", "255", "256", "::", ":", "1:", "fe80", "%eth0", "[", "]", ".", "ff", "x",
               "db", "example", "com", "local", "٣", "1e100", "a", "-", "0x1", "::ffff:", "LOCALHOST", "Ⅻ"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(HOST_PIECES), min_size=1, max_size=8).map("".join))
def test_outside_asks_ipaddress_only_what_could_be_an_address(host):
    services = {"db": "db", "example.local": "x"}
    assert outbound.outside(host, services) == outside_reference(host, services)


@pytest.mark.parametrize("host", ["10.0.0.1", "127.0.0.1", "::1", "[::1]", "fe80::1%eth0", "2001:db8::1",
                                  "0.0.0.0", "1e100.net", "example.com", "db", "::ffff:127.0.0.1", "٣.٣.٣.٣"])
def test_outside_on_addresses(host):
    assert outbound.outside(host, {"db": "db"}) == outside_reference(host, {"db": "db"})
