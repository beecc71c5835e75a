"""Inputs on which a shortcut of the performance work once changed the result (found in review
by comparing the old and the new code): each must give what the full computation gives."""

from __future__ import annotations

from test_cli import invoke

from hardener.pipeline import harden_paths


def planned(path) -> dict:
    result = harden_paths([str(path)])
    assert result.error is None, result.error
    return {n: sp.after.get("networks") for n, sp in result.plan.services.items()}


MERGED = """\
x-base: &base
  networks: [front, back]
services:
  db:
    image: postgres:16
    {key}: *base
  web:
    image: nginx
    {key}: *base
    ports: ["80:80"]
    depends_on: [db]
networks:
  front: {{}}
  back: {{}}
"""


def test_a_tagged_merge_key_is_a_merge_key(tmp_path):
    """'!!merge "\\x3c\\x3c"' merges as '<<' does, though the text has no '<<' (the merge index
    was skipped for such a file, and the editor edited the shared anchor as if it were not)."""
    (tmp_path / "plain").mkdir()
    (tmp_path / "tagged").mkdir()
    (tmp_path / "plain" / "compose.yaml").write_text(MERGED.format(key="<<"))
    (tmp_path / "tagged" / "compose.yaml").write_text(MERGED.format(key='!!merge "\\x3c\\x3c"'))
    assert planned(tmp_path / "tagged" / "compose.yaml") == planned(tmp_path / "plain" / "compose.yaml")


DOUBLED = """\
services:
  web:
    image: nginx
    ports: ["80:80"]
    networks: [{nets}]
  cache:
    image: redis:7
    networks: [{nets}]
  db:
    image: postgres:16
    networks: [{nets}]
  api:
    image: python:3.12
    environment:
      DB: postgres://db:5432/x
    networks: [{nets}]
networks:
  back:
    name: shared_back
"""


def test_a_store_listed_twice_on_a_flat_network_leaves_it(tmp_path):
    """Data stores on 'networks: [back, back]' leave the flat network as they leave '[back]' (the
    network's members were once kept as a set, and a store leaving it left one of its two
    entries behind, so nothing was split)."""
    for name, nets in (("once", "back"), ("twice", "back, back")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "compose.yaml").write_text(DOUBLED.format(nets=nets))
    once, twice = planned(tmp_path / "once" / "compose.yaml"), planned(tmp_path / "twice" / "compose.yaml")
    for store in ("db", "cache"):
        assert twice[store] == once[store]
        assert "back" not in twice[store]


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
