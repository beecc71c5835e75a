"""The probe's parts that need no engine: the stand-in rewrite, the listeners, the in-container
output parser, the before/after comparison, the output formats, the copy --compare hardens, and
the one-line error when there is no engine. The runtime tier (tests/runtime) runs the rest."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys

import pytest

from conftest import FIXTURES, ROOT
from hardener.probe import compare as cmpmod
from hardener.probe import format as fmt
from hardener.probe.measure import Job, Seen, parse, retry_job, targets_for
from hardener.probe.outside import http_get
from hardener.probe.servers import DnsServer, IdServer, dns_reply
from hardener.probe.standin import LISTEN_SH, PROBE_PORT, rewrite


def ports():
    n = iter(range(41000, 42000))
    return lambda: next(n)


def stand_in(model, **kw):
    args = dict(token="t0k3n", image="stand:in", pull="never", dns="198.19.252.2", free_port=ports())
    args.update(kw)
    return rewrite(model, **args)


RENDERED = {
    "name": "shop",
    "networks": {
        "default": {"name": "shop_default", "ipam": {}},
        "data": {"name": "shop_data", "internal": True, "ipam": {"config": [{"subnet": "10.5.0.0/24"}]}},
        "proxy": {"name": "traefik_proxy", "external": True},
        "lan": {"name": "shop_lan", "driver": "macvlan", "driver_opts": {"parent": "eth0"}},
    },
    "services": {
        "web": {
            "image": "nginx", "container_name": "shop-web", "volumes": [{"type": "volume", "source": "x"}],
            "networks": {"default": None, "proxy": {"aliases": ["www"]}},
            "ports": [{"target": 443, "published": "443", "protocol": "tcp"},
                      {"target": 53, "published": "53", "protocol": "udp"},
                      {"target": 80, "published": "8080", "host_ip": "10.0.0.5", "protocol": "tcp"}],
            "depends_on": {"api": {"condition": "service_healthy", "required": True}},
            "environment": {"PRICE": "$5"},
        },
        "api": {"image": "api", "networks": {"default": None, "data": {"ipv4_address": "10.5.0.9"}},
                "expose": ["9000", "9100-9102", "53/udp"], "links": ["db:database", "gone"]},
        "db": {"image": "postgres", "container_name": "shop-db", "networks": {"data": None}},
        "agent": {"image": "agent", "network_mode": "container:shop-web", "hostname": "x", "links": ["db"],
                  "ports": [{"target": 1, "published": "1", "protocol": "tcp"}]},
        "lonely": {"image": "x", "network_mode": "container:somewhere-else"},
        "tail": {"image": "x", "network_mode": "service:lonely"},
        "hosted": {"image": "x", "network_mode": "host", "ports": [{"target": 9, "published": "9", "protocol": "tcp"}],
                   "links": ["db"]},
    },
}


def test_standin_keeps_what_decides_connectivity_and_nothing_else():
    sm = stand_in(RENDERED)
    svc = sm.model["services"]
    assert sm.running == ["agent", "api", "db", "hosted", "web"]
    assert sm.skipped == {"lonely": "network_mode container:somewhere-else names a container outside the project",
                          "tail": "shares the network namespace of lonely, which is not started"}
    for name, s in svc.items():
        assert s["image"] == "stand:in" and s["pull_policy"] == "never"
        assert s["command"] == [LISTEN_SH] and s["environment"]["CHP_ID"] == f"t0k3n:{name}"
        assert "volumes" not in s and "container_name" not in s
    # container_name: an alias on every network of its service; container:NAME -> service:OWNER
    assert svc["web"]["networks"] == {"default": {"aliases": ["shop-web"]}, "proxy": {"aliases": ["www", "shop-web"]}}
    assert sm.alias_of == {"shop-web": ["web"], "www": ["web"], "shop-db": ["db"]}
    assert svc["agent"]["network_mode"] == "service:web" and sm.owners == {"agent": "web", "tail": "lonely"}
    assert "hostname" not in svc["agent"] and "links" not in svc["agent"] and "dns" not in svc["agent"]
    # static addresses go, links to services that do not run go, healthy -> started
    assert svc["api"]["networks"] == {"default": None, "data": None}
    assert svc["api"]["links"] == ["db:database"] and sm.link_aliases == {"api": {"database": "db"}}
    assert svc["web"]["depends_on"] == {"api": {"condition": "service_started", "required": True}}
    # listeners: the probe port and every TCP port published or exposed
    assert sm.listens["api"] == [PROBE_PORT, 9000, 9100, 9101, 9102]
    assert sm.listens["web"] == [PROBE_PORT, 80, 443]
    assert sm.listens["hosted"] == [9] and sm.listens["agent"] == []
    assert svc["hosted"]["environment"]["CHP_BIND"] == "127.0.0.1:" and svc["web"]["environment"]["CHP_BIND"] == ""
    assert [(p.key, p.host_port) for p in sm.published["hosted"]] == [("127.0.0.1:9", 9)]  # the host's own port
    assert svc["hosted"]["dns"] == ["198.19.252.2"] and "ports" not in svc["hosted"] and "links" not in svc["hosted"]
    # published TCP ports: loopback, at the probe's ports, keyed as the file publishes them
    assert svc["web"]["ports"] == [
        {"target": 443, "published": "41000", "host_ip": "127.0.0.1", "protocol": "tcp"},
        {"target": 80, "published": "41001", "host_ip": "127.0.0.1", "protocol": "tcp"},
    ]
    assert [(p.key, p.host_port, p.target) for p in sm.published["web"]] == [
        ("127.0.0.1:443", 41000, 443), ("10.0.0.5:8080", 41001, 80)]
    # networks: project-scoped, bridges only, no fixed subnets
    nets = sm.model["networks"]
    assert nets == {"data": {"internal": True}, "default": None, "lan": None, "proxy": None}
    assert sm.internal == {"data": True, "default": False, "lan": False, "proxy": False}
    notes = "\n".join(sm.notes)
    for words in ("network proxy: external", "driver macvlan probed as a bridge", "UDP/SCTP published ports (web)",
                  "fixed subnets", "static addresses on networks (api)", "volumes (web)", "lonely: not started",
                  "ports of services without their own network namespace (agent)"):
        assert words in notes


def test_standin_escapes_dollars_and_caps_services():
    model = {"services": {"a": {"image": "x", "networks": {"default": {"aliases": ["a$b"]}}}}, "networks": {"default": {}}}
    sm = stand_in(model)
    assert sm.model["services"]["a"]["networks"]["default"]["aliases"] == ["a$$b"]
    with pytest.raises(ValueError):
        stand_in({"services": {f"s{i}": {"image": "x"} for i in range(81)}})


def test_targets_are_other_services_aliases_and_own_link_aliases():
    sm = stand_in(RENDERED)
    assert targets_for(sm, "api") == ["agent", "db", "hosted", "lonely", "tail", "web", "shop-db", "shop-web", "www",
                                      "database"]
    assert "database" not in targets_for(sm, "web")


def test_dns_reply_answers_its_name_and_nxdomain_to_the_rest():
    def query(name, qtype=1):
        q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
        return struct.pack("!HHHHHH", 77, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)

    answers = {"tok.compose-harden-probe.invalid": "198.19.252.2"}
    known = dns_reply(query("TOK.compose-harden-probe.invalid"), answers)
    qid, flags, qd, an = struct.unpack("!HHHH", known[:8])
    assert (qid, flags & 0xF, qd, an) == (77, 0, 1, 1) and known.endswith(socket.inet_aton("198.19.252.2"))
    other = dns_reply(query("db"), answers)
    assert struct.unpack("!HHHH", other[:8])[1] & 0xF == 3  # NXDOMAIN
    assert struct.unpack("!HHHH", other[:8])[3] == 0
    assert dns_reply(b"\x00\x01", answers) is None
    assert dns_reply(known, answers) is None  # a response is not answered


def test_listeners_answer_on_loopback():
    srv = IdServer(("127.0.0.1", 0), "tok:host").start()
    dns = DnsServer(("127.0.0.1", 0), {"x.invalid": "198.19.252.2"}).start()
    try:
        assert http_get("127.0.0.1", srv.server_address[1], 3) == "tok:host"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.sendto(struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\x01x\x07invalid\x00\x00\x01\x00\x01",
                 dns.sock.getsockname())
        reply = s.recv(512)
        s.close()
        assert reply.endswith(socket.inet_aton("198.19.252.2"))
    finally:
        srv.stop()
        dns.stop()
    assert http_get("127.0.0.1", srv.server_address[1], 1) is None


def test_parse_and_second_pass_selection():
    seen = parse("N\tdb\tok\t10.1.0.2 \nC\tdb\t10.1.0.2\ttok:db\nN\tweb\tnone\t\nN\tgone\tnx\t\n"
                 "N\tapi\tok\t10.1.0.3 \nC\tapi\t10.1.0.3\t\nE\t\nX\t\nH\t10.1.0.1\ttok:host\nH\t198.19.252.1\t\n"
                 "garbage line\nZ\n")
    assert seen.complete and seen.status == {"db": "ok", "web": "none", "gone": "nx", "api": "ok"}
    owners = {"db": ["db"], "web": ["web"], "gone": ["gone"], "api": ["api"]}
    job = Job("x", "cid", ["db", "web", "gone", "api"], "198.19.252.2:80", "n.invalid", ["10.1.0.1", "198.19.252.1"])
    again = retry_job(job, seen, owners, "tok", "tok:outside", "tok:host")
    # definitive answers (reached, NXDOMAIN) are not asked again; silence and refusals are
    assert again.targets == ["web", "api"] and again.outside and again.dns_name and again.hosts == ["198.19.252.1"]
    later = parse("N\tweb\tok\t10.1.0.4 \nC\tweb\t10.1.0.4\ttok:web\nE\ttok:outside\nZ\n")
    seen.merge(later)
    assert seen.answers["web"] == {"10.1.0.4": "tok:web"} and seen.egress == "tok:outside"
    assert retry_job(job, Seen(error="boom"), owners, "tok", "a", "b") is job


def _result(matrix, egress, published=None, services=None):
    return {"services": services or {s: {"running": True} for s in matrix}, "matrix": matrix, "egress": egress,
            "dns_egress": dict(egress), "host": {s: True for s in matrix}, "published": published or {}}


def test_compare_counts_lost_dependencies_ways_out_and_ports():
    before = _result({"web": {"api": True, "db": True}, "api": {"web": True, "db": True}, "db": {"web": True, "api": True}},
                     {"web": True, "api": True, "db": True}, {"web": {"127.0.0.1:443": "web"}, "db": {"127.0.0.1:5432": "db"}})
    after = _result({"web": {"api": True, "db": False}, "api": {"web": True, "db": False}, "db": {"web": False, "api": False}},
                    {"web": True, "api": True, "db": False}, {"web": {"127.0.0.1:443": "web"}, "db": {"127.0.0.1:5432": None}})
    report = {"dependencies": [{"from": "web", "to": "api", "kind": "declared"}, {"from": "api", "to": "db", "kind": "hostname"}]}
    c = cmpmod.compare(before, after, report)
    assert c["dependencies_lost"] == ["api -> db"] and c["connections"]["removed"] == [
        "api -> db", "db -> api", "db -> web", "web -> db"]
    assert c["egress"]["lost"] == ["db"] and c["published"]["lost"] == ["db 127.0.0.1:5432"]
    lines = fmt.verdict(c)
    assert lines[0].startswith("1 of 2 connections lost (api -> db)")
    assert "db lost its way out (TCP and DNS)" in lines
    assert "published ports: 1 of 2 answer; no longer answering: db 127.0.0.1:5432" in lines


def test_compare_sees_through_shared_namespaces():
    services = {"vpn": {"running": True}, "app": {"running": True, "network_mode": "service:vpn"}, "db": {"running": True}}
    after = _result({"vpn": {"app": False, "db": True}, "app": {"vpn": True, "db": True}, "db": {"vpn": True, "app": False}},
                    {"vpn": True, "app": True, "db": False}, services=services)
    report = {"dependencies": [{"from": "app", "to": "vpn", "kind": "namespace"}, {"from": "db", "to": "app", "kind": "x"}]}
    c = cmpmod.compare(after, after, report)
    assert [d["after"] for d in c["dependencies"]] == [True, True]


def test_formats_show_the_matrix_and_the_notes():
    r = _result({"web": {"db": False}, "db": {"web": True}}, {"web": True, "db": False}, {"web": {"127.0.0.1:443": "web"}})
    r.update(engine="20.10", image="busybox", files=["compose.yaml"], notes=["a note"], aliases={"web": {"w": True}})
    t = fmt.text(r)
    assert "web      yes      yes      yes   - (aliases: w)" in t and "db       no       no       yes   web" in t
    assert "web 127.0.0.1:443: answers" in t and "note: a note" in t
    md = fmt.render(r, "markdown")
    assert "| db | no | no | yes | web |" in md
    assert json.loads(fmt.render(r, "json")) == r


def test_copy_for_compare_never_writes_through_links(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    real = tmp_path / "shared.yaml"
    real.write_text(open(os.path.join(FIXTURES, "three-tier-web-app", "compose.yaml")).read())
    (project / "compose.yaml").symlink_to(real)
    (project / "big.bin").write_bytes(b"x" * (cmpmod.MAX_FILE + 1))
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref")
    before = real.read_text()
    copies, report = cmpmod.harden_copy([str(project / "compose.yaml")], str(project), str(tmp_path / "copy"))
    assert real.read_text() == before  # the user's file (behind the link) is untouched
    assert not os.path.islink(copies[0]) and "internal: true" in open(copies[0]).read()
    assert os.path.getsize(tmp_path / "copy" / "big.bin") == 0 and not (tmp_path / "copy" / ".git").exists()
    assert {(d["from"], d["to"]) for d in report["dependencies"]} == {("web", "api"), ("api", "db"), ("api", "cache")}
    with pytest.raises(Exception, match="outside the project folder"):
        cmpmod.harden_copy([str(real)], str(project), str(tmp_path / "copy2"))


def test_no_engine_is_one_clear_error(tmp_path):
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-such.sock", PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "hardener", "probe", os.path.join(FIXTURES, "three-tier-web-app")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("compose-harden probe: ")
    assert "no Docker engine answers" in lines[0] or "docker command is not installed" in lines[0]


def test_probe_usage_errors(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "hardener", "probe", str(tmp_path)], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 2 and "no compose.yaml" in r.stderr
    r = subprocess.run([sys.executable, "-m", "hardener", "probe", "--help"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0 and "--compare" in r.stdout and "--pull [missing|never|always]" in r.stdout
