"""A stack hardened with the egress gateway and run again: edited by hand since, or not.

Each once went wrong: a routed service moved off the gateway's networks was refused as an internal
error, then (with the gateway joining the service's network) routed again without the checks a new
service gets -- sealing an external network, one with a fixed name, a port-publishing service's
way out, growing networks for a service whose networks cannot be edited; an enforce-mode gateway
went back to report mode (allow-all) on a run without --egress-mode; and a replaced squid.conf left
its old comment lines behind as YAML comments.
"""

from __future__ import annotations

import pytest
from test_cli import invoke

GATEWAY_MOVED = """services:
  worker:
    image: python:3.12
    command: python worker.py
    environment:
      API: https://api.example.com
      DB_URL: postgres://db:5432/x
      HTTP_PROXY: http://egress-gateway:3128
      HTTPS_PROXY: http://egress-gateway:3128
      http_proxy: http://egress-gateway:3128
      https_proxy: http://egress-gateway:3128
      NO_PROXY: "127.0.0.1,::1,db,egress-gateway,localhost,worker"
      no_proxy: "127.0.0.1,::1,db,egress-gateway,localhost,worker"
    networks:
      - wk
      - data
  db:
    image: postgres:16
    networks:
      - data
  egress-gateway:
    image: ubuntu/squid:6.6-24.04_beta
    restart: unless-stopped
    configs:
      - {source: egress-gateway, target: /etc/squid/squid.conf}
    networks:
      - egress
      - backend
    x-compose-harden:
      role: egress-gateway
networks:
  backend:
    internal: true
  wk:
    internal: true
  data:
    internal: true
  egress:
configs:
  egress-gateway:
    content: |
      # compose-harden egress gateway (mode: report)
      # Every outbound request of the routed services goes through this proxy and is logged to
      # /var/log/squid/access.log, which the ubuntu/squid image prints on its stdout:
      # `docker compose logs egress-gateway` is the audit trail.
      # Report mode: everything is allowed and logged except cloud metadata and link-local
      # addresses. Switch to enforce mode (--egress-mode enforce) for an allow-list.
      http_port 3128
      acl metadata dst 169.254.0.0/16 fd00:ec2::254/128
      acl SSL_ports port 443
      acl Safe_ports port 80 443
      acl CONNECT method CONNECT
      http_access deny metadata
      http_access deny !Safe_ports
      http_access deny CONNECT !SSL_ports
      http_access allow all
      access_log stdio:/var/log/squid/access.log
      cache_log /var/log/squid/cache.log
      cache deny all
      coredump_dir /var/spool/squid
"""


def test_an_existing_gateway_joins_a_network_it_must_serve(tmp_path):
    """A stack hardened with the egress gateway, then edited by hand so that a routed service no
    longer shares a network with the gateway: the gateway joins the service's sealed network
    (once refused as an internal error, and before that reported as 'nothing to change'), and
    the result is stable."""
    (tmp_path / "compose.yaml").write_text(GATEWAY_MOVED)
    r = invoke(["--egress-gateway", "--diff", "compose.yaml"], tmp_path)
    assert r.exit_code == 1, r.output
    added = [line for line in r.stdout.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert added == ["+      - wk"], r.stdout
    assert "-      - backend" not in r.stdout
    assert invoke(["--egress-gateway", "--write", "-q", "compose.yaml"], tmp_path).exit_code == 0
    again = invoke(["--egress-gateway", "--diff", "compose.yaml"], tmp_path)
    assert again.exit_code == 0 and "nothing to change" in again.output


def test_an_existing_gateway_that_cannot_be_edited_is_not_an_internal_error(tmp_path):
    """The same stack with the gateway defined in an included file, which the tool never edits:
    refused with what to do, not as an internal error, and nothing is written."""
    main, included = GATEWAY_MOVED.split("  egress-gateway:\n", 1)
    services, rest = included.split("\nnetworks:\n", 1)
    (tmp_path / "gateway.yaml").write_text("services:\n  egress-gateway:\n" + services + "\n")
    (tmp_path / "compose.yaml").write_text("include: [gateway.yaml]\n" + main + "networks:\n" + rest)
    before = (tmp_path / "compose.yaml").read_text()
    r = invoke(["--egress-gateway", "--write", "compose.yaml"], tmp_path)
    assert r.exit_code == 2, r.output
    assert "cannot be edited to join network wk" in r.output
    assert "internal error" not in r.output
    assert (tmp_path / "compose.yaml").read_text() == before


WORKER_NETWORKS = """    networks:
      - wk
      - data
"""


def moved_by_hand(tmp_path, worker: str, more: str = "") -> str:
    """GATEWAY_MOVED with the worker's networks written as ``worker`` (and ``more`` networks)."""
    text = GATEWAY_MOVED.replace(WORKER_NETWORKS, worker, 1)
    if more:
        text = text.replace("networks:\n  backend:", "networks:\n" + more + "  backend:", 1)
    (tmp_path / "compose.yaml").write_text(text)
    return text


@pytest.mark.parametrize("worker, more, rule, why", [
    ('    network_mode: "service:db"\n', "", "egress-unroutable", "network namespace of db"),
    ('    network_mode: none\n', "", "egress-unroutable", "network_mode: none"),
    ('    network_mode: host\n', "", "egress-unroutable", "network_mode: host"),
    ("    networks: [ext]\n", "  ext:\n    external: true\n", "egress-unroutable", "externally managed"),
    ("    networks: [shared]\n", "  shared:\n    name: corp-shared\n", "egress-unroutable", "fixed name"),
    ('    ports: ["8000:8000"]\n    networks: [pub]\n', "  pub:\n", "egress-bypass-edge", "publishes ports"),
], ids=["namespace", "none", "host", "external", "fixed-name", "publishes"])
def test_a_moved_service_that_cannot_be_routed_is_reported_not_sealed(tmp_path, worker, more, rule, why):
    """Routed by an earlier run, moved since where a new service would not be routed: reported
    for a human, and nothing is changed (no network made internal, the gateway joins nothing)."""
    before = moved_by_hand(tmp_path, worker, more)
    r = invoke(["--egress-gateway", "--write", "compose.yaml"], tmp_path)
    assert r.exit_code == 1, r.output
    assert f"[{rule}] worker" in r.output and why in r.output, r.output
    assert "does not share a network with" in r.output
    assert (tmp_path / "compose.yaml").read_text() == before
    r = invoke(["--egress-gateway", "--format", "json", "compose.yaml"], tmp_path)
    assert '"fixed": true' not in r.stdout


def test_a_moved_service_whose_networks_cannot_be_edited_is_reported(tmp_path):
    """The worker's networks set only in an override file: reported, not routed, and no run adds
    a network to the gateway (each run once added another egress-clients network)."""
    before = moved_by_hand(tmp_path, "")
    (tmp_path / "override.yaml").write_text("services:\n  worker:\n    networks: [data]\n")
    args = ["--egress-gateway", "-f", "compose.yaml", "-f", "override.yaml"]
    for _ in range(2):
        r = invoke(args + ["--write"], tmp_path)
        assert r.exit_code == 1, r.output
        assert "[egress-unroutable] worker: its networks cannot be edited" in r.output
        assert (tmp_path / "compose.yaml").read_text() == before


def test_enforce_mode_stays_on_a_run_without_the_option(tmp_path):
    """The mode is read back from the gateway's squid.conf: a later run with no --egress-mode
    keeps the allow-list (it once switched the gateway back to report mode, allow-all)."""
    (tmp_path / "compose.yaml").write_text(STACK)
    assert invoke(["--egress-gateway", "--egress-mode", "enforce", "--write", "-q", "compose.yaml"], tmp_path).exit_code == 0
    for args in (["--diff"], ["--egress-gateway", "--diff"]):
        r = invoke(args + ["compose.yaml"], tmp_path)
        assert r.exit_code == 0 and "nothing to change" in r.output, r.output
    assert "http_access deny all" in (tmp_path / "compose.yaml").read_text()


def test_a_replaced_squid_conf_leaves_no_old_lines(tmp_path):
    """Switching the mode replaces the inline config whole: its old "# ..." lines are text of
    the block scalar, not YAML comments to keep above the new one."""
    (tmp_path / "compose.yaml").write_text(STACK)
    assert invoke(["--egress-gateway", "--write", "-q", "compose.yaml"], tmp_path).exit_code == 0
    r = invoke(["--egress-mode", "enforce", "--write", "-q", "compose.yaml"], tmp_path)
    assert r.exit_code == 0, r.output
    text = (tmp_path / "compose.yaml").read_text()
    assert "(mode: report)" not in text and "Report mode" not in text
    assert text.count("# compose-harden egress gateway") == 1
    assert text.count("content: |") == 1
    again = invoke(["--diff", "compose.yaml"], tmp_path)
    assert again.exit_code == 0 and "nothing to change" in again.output, again.output


STACK = """services:
  app:
    image: python:3.12
    environment:
      API: https://api.example.com
      DB: postgres://db:5432/x
  db:
    image: postgres:16
"""


def test_an_interpolated_gateway_network_is_read_as_compose_reads_it(tmp_path):
    """``- ${EGRESS_NET:-egress}`` on the gateway is network egress: a hardened stack written
    so is 'nothing to change' (the gateway check once compared the name as written)."""
    text = GATEWAY_MOVED.replace(WORKER_NETWORKS, "    networks:\n      - backend\n      - data\n", 1)
    text = text.replace("    networks:\n      - egress\n      - backend\n",
                        "    networks:\n      - ${EGRESS_NET:-egress}\n      - backend\n", 1)
    assert "${EGRESS_NET:-egress}" in text
    (tmp_path / "compose.yaml").write_text(text)
    r = invoke(["--egress-gateway", "--diff", "compose.yaml"], tmp_path)
    assert r.exit_code == 0 and "nothing to change" in r.output, r.output


def test_a_data_store_on_the_gateways_network_is_reported(tmp_path):
    """A cache added by hand to a network the gateway is on could send requests out through the
    proxy: reported for a human (the tool never puts the gateway there itself)."""
    text = GATEWAY_MOVED.replace("  db:\n", "  cache:\n    image: redis:7\n    networks: [backend]\n  db:\n", 1)
    (tmp_path / "compose.yaml").write_text(text)
    r = invoke(["--egress-gateway", "--diff", "compose.yaml"], tmp_path)
    assert "[data-egress] cache: data store cache shares network backend with the egress gateway" in r.output, r.output
    assert "[data-egress] db" not in r.output
