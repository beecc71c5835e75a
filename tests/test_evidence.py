"""Evidence, one kind at a time: each proxy dialect's parser, configuration the services read
(Compose configs, inline content), source scanning, environment values, outbound and host-network
evidence. The golden fixtures show the effect on whole stacks; these pin the readers."""

import pytest

from conftest import project_of
from hardener.evidence import analyse
from hardener.evidence.proxies import DIALECTS, dialect_of


def analysis(tmp_path, text, files=None):
    project, tiers, reader = project_of(tmp_path, text, files)
    return analyse(project, tiers, reader)


def reaches(a, src):
    return sorted(set(a.reaches(src)))


# --- proxy dialects ------------------------------------------------------------------------------

DIALECT_CASES = [
    ("nginx", "/etc/nginx/conf.d/default.conf",
     "upstream web { server frontend:3000; }\nserver {\n  server_name api.example.com;  # not a host\n"
     "  location / { proxy_pass http://web; }\n  location /api { proxy_pass http://api:8080/; }\n"
     "  proxy_cache cache;\n}\n", {"frontend", "api", "web"}),
    ("caddy", "Caddyfile",
     "example.com {\n  @api path /api/*\n  reverse_proxy @api api:8080\n  reverse_proxy {\n    to web:3000\n  }\n"
     "  php_fastcgi php:9000\n}\n", {"api", "web", "php"}),
    ("haproxy", "haproxy.cfg",
     "frontend http\n  bind *:80\n  default_backend apis\nbackend apis\n  server api-1 app-one:8080 check\n"
     "  server api-2 app-two:8080 check\n", {"app-one", "app-two"}),
    ("traefik", "dynamic.yml",
     "http:\n  routers:\n    r:\n      rule: Host(`x`)\n      service: s\n  services:\n    s:\n      loadBalancer:\n"
     "        servers:\n          - url: http://whoami:80\n", {"whoami"}),
    ("envoy", "envoy.yaml",
     "static_resources:\n  listeners:\n  - address:\n      socket_address: { address: 0.0.0.0, port_value: 8080 }\n"
     "  clusters:\n  - name: frontend\n    load_assignment:\n      endpoints:\n      - lb_endpoints:\n        - endpoint:\n"
     "            address:\n              socket_address:\n                address: frontend\n                port_value: 8080\n",
     {"frontend"}),
    ("kong", "kong.yml",
     "_format_version: '2.1'\nservices:\n  - name: auth-v1\n    url: http://auth:9999/verify\n  - name: rest\n"
     "    url: http://rest:3000/\n", {"auth", "rest"}),
    ("apache", "httpd.conf",
     "<VirtualHost *:80>\n  ProxyPass / http://app:8080/\n  ProxyPassReverse / http://app:8080/\n</VirtualHost>\n", {"app"}),
    ("varnish", "default.vcl", 'vcl 4.1;\nbackend default {\n  .host = "web";\n  .port = "8080";\n}\n', {"web"}),
    ("cloudflared", "config.yml",
     "tunnel: abc\ncredentials-file: /etc/cloudflared/abc.json\ningress:\n  - hostname: x.example.com\n"
     "    service: http://app:8000\n  - service: http_status:404\n", {"app"}),
]


@pytest.mark.parametrize("dialect,path,text,hosts", DIALECT_CASES, ids=[c[0] for c in DIALECT_CASES])
def test_dialect_parsers_read_upstreams_only(dialect, path, text, hosts):
    assert dialect_of(path, text) == dialect
    assert {h for h, _ in DIALECTS[dialect].upstreams(text)} == hosts


def test_a_prometheus_file_is_no_proxy_dialect():
    assert dialect_of("/etc/prometheus/prometheus.yml", "scrape_configs:\n  - targets: ['node:9100']\n") is None


# --- configuration the services read --------------------------------------------------------------


def test_compose_config_inline_content_and_file(tmp_path):
    a = analysis(tmp_path, """
        services:
          caddy:
            image: caddy:2.8
            configs: [{source: cf, target: /etc/caddy/Caddyfile}]
          nginx:
            image: nginx:1.27
            configs: [site]
          app: {image: foo/app}
          api: {image: foo/api}
        configs:
          cf:
            content: |
              :80 {
                reverse_proxy http://app:8000
              }
          site:
            file: ./site.conf
        """, {"site.conf": "server { location / { proxy_pass http://api:9000; } }\n"})
    assert reaches(a, "caddy") == ["app"]
    assert a.routing["caddy"].known
    assert reaches(a, "nginx") == ["api"] and a.routing["nginx"].known


def test_inline_volume_content_is_read(tmp_path):
    a = analysis(tmp_path, """
        services:
          caddy:
            image: caddy:2
            volumes:
              - type: bind
                source: ./Caddyfile
                target: /etc/caddy/Caddyfile
                content: |
                  :80 {
                    reverse_proxy app:8000
                  }
          app: {image: foo/app}
          other: {image: foo/other}
        """)
    assert reaches(a, "caddy") == ["app"] and a.routing["caddy"].known


def test_templates_resolved_from_the_service_environment(tmp_path):
    a = analysis(tmp_path, """
        services:
          proxy:
            image: envoyproxy/envoy:v1.31
            environment: {FRONTEND_HOST: frontend}
            volumes: [./envoy.tmpl.yaml:/etc/envoy/envoy.yaml]
          frontend: {image: foo/web}
        """, {"envoy.tmpl.yaml": "static_resources:\n  clusters:\n  - load_assignment:\n      endpoints:\n"
                                  "      - lb_endpoints:\n        - endpoint:\n            address:\n"
                                  "              socket_address: {address: ${FRONTEND_HOST}, port_value: 8080}\n"})
    assert reaches(a, "proxy") == ["frontend"]


def test_routing_unknown_when_the_config_is_in_the_image_or_rendered(tmp_path):
    a = analysis(tmp_path, """
        services:
          baked: {image: nginx:1.27}
          jinja:
            image: nginx:1.27
            volumes: [./conf:/etc/nginx/conf.d]
          app: {image: foo/app}
          store: {image: minio/minio}
          db: {image: postgres:16}
        """, {"conf/site.conf.j2": "server { location / { proxy_pass http://{{ UPSTREAM }}; } }\n",
              "conf/plain.conf": "server { location /x { proxy_pass http://app:80; } }\n"})
    assert not a.routing["baked"].known and not a.routing["jinja"].known
    kept = reaches(a, "baked")
    assert "app" in kept and "store" in kept and "db" not in kept  # routable object store, never the database


def test_traefik_file_provider_not_in_the_project_means_routing_unknown(tmp_path):
    a = analysis(tmp_path, """
        services:
          traefik:
            image: traefik:v3.1
            command: ["--providers.docker=true", "--providers.file.directory=/dynamic"]
          whoami:
            image: traefik/whoami
            labels: [traefik.enable=true]
        """)
    assert not a.routing["traefik"].known


# --- environment, source ----------------------------------------------------------------------


def test_identifiers_and_url_paths_are_not_hosts(tmp_path):
    a = analysis(tmp_path, """
        services:
          app:
            image: foo/app
            environment:
              POSTGRES_DB: mattermost
              HEALTH_URL: http://db:8080/live
          mattermost: {image: foo/mm}
          live: {image: foo/live}
          db: {image: postgres:16}
        """)
    assert reaches(a, "app") == ["db"]


def test_source_reads_code_not_compose_files_fixtures_or_other_case(tmp_path):
    a = analysis(tmp_path, """
        services:
          app:
            build: ./app
          db: {image: postgres:16}
          cart: {image: foo/cart}
          cache: {image: redis:7}
        """, {
        "app/main.py": "class Cart:\n    name = 'Cart'\nREDIS = 'redis://cache:6379'\n",
        "app/docker-compose.yml": "services:\n  db:\n    image: postgres\n",
        "app/.env.example": "DB_HOST=db\n",
        "app/tests/fixtures/data.json": '{"host": "db"}\n',
        "app/README.md": "connects to db:5432\n",
    })
    assert reaches(a, "app") == ["cache"]


def test_a_mounted_folder_is_read_as_configuration_but_not_its_compose_files(tmp_path):
    # "- .:/code" mounts the project, compose.yaml with it: a compose file describes the stack
    # (it names every service), it is not a connection of the service that can read it
    a = analysis(tmp_path, """
        services:
          web:
            image: ghcr.io/acme/web:1
            volumes:
              - .:/code
              - ./compose.override.yaml:/code/override.yaml:ro
          db: {image: postgres:16}
          cache: {image: redis:7}
          worker: {image: ghcr.io/acme/worker:1}
        """, {
        "settings.ini": "[db]\nhost = db\n",
        "compose.override.yaml": "services:\n  worker:\n    depends_on: [cache]\n",
        "deploy/docker-compose.test.yml": "services:\n  cache: {image: redis}\n  worker: {image: w}\n",
    })
    assert reaches(a, "web") == ["db"]


MISSING_CONFIG = """
    services:
      worker:
        image: ghcr.io/element-hq/synapse:latest
        entrypoint: ["/start.py", "run", "--config-path=/data/homeserver.yaml"]
        volumes:
          - ./data/synapse:/data
      portal:
        image: gitea/gitea:1.22
        volumes:
          - ./gitea/app.ini:/data/gitea/conf/app.ini:ro
      uploader:
        image: ghost:5
        command: ["sh", "-c", "chown -R 1000 /app/uploads/tmp && exec uploader"]
        volumes:
          - ./uploads:/app/uploads
      proxy:
        image: nginx:1.27
        ports: ["80:80"]
        volumes:
          - ./nginx/conf.d:/etc/nginx/conf.d:ro
      db: {image: postgres:16}
      cache: {image: redis:7}
    """


def test_configuration_mounted_from_the_project_but_missing_keeps_reach_to_the_data_stores(tmp_path):
    # generated at run time by an init job, or copied from an example by hand: nothing shows which
    # stores the service uses, so it keeps them (a storage folder, or a proxy's routes, do not count)
    a = analysis(tmp_path, MISSING_CONFIG)
    assert reaches(a, "worker") == ["cache", "db"] and "data/synapse" in a.assumed["worker"]
    assert reaches(a, "portal") == ["cache", "db"] and "app.ini" in a.assumed["portal"]
    assert reaches(a, "uploader") == [] and "uploader" not in a.assumed
    assert "db" not in reaches(a, "proxy")


def test_a_missing_configuration_is_not_outweighed_by_what_the_file_names(tmp_path):
    # the worker names redis in its environment; postgres is in the configuration that is missing
    a = analysis(tmp_path, MISSING_CONFIG.replace(
        "        volumes:\n          - ./data/synapse:/data\n",
        "        volumes:\n          - ./data/synapse:/data\n        environment:\n          REDIS_HOST: cache\n", 1))
    assert reaches(a, "worker") == ["cache", "db"] and "data/synapse" in a.assumed["worker"]


@pytest.mark.parametrize("files,link", [
    ({"data/synapse/.gitkeep": ""}, None),                   # a folder without the named file
    ({}, ("data/synapse", "nowhere")),                       # a dangling link
    ({"gitea/.gitkeep": ""}, None),                          # app.ini missing beside a .gitkeep
])
def test_configuration_that_is_not_there_counts_as_missing(tmp_path, files, link):
    if link:
        (tmp_path / link[0]).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / link[0]).symlink_to(tmp_path / link[1])
    a = analysis(tmp_path, MISSING_CONFIG, files)
    assert reaches(a, "worker") == ["cache", "db"]
    assert reaches(a, "portal") == ["cache", "db"]


def test_an_env_file_mounted_and_missing_is_configuration(tmp_path):
    a = analysis(tmp_path, """
        services:
          app:
            image: gitea/gitea:1.22
            volumes:
              - ./.env:/app/.env:ro
          db: {image: postgres:16}
        """)
    assert reaches(a, "app") == ["db"] and ".env" in a.assumed["app"]


@pytest.mark.parametrize("homeserver,app_ini", [
    ("data/synapse/homeserver.yaml", "gitea/app.ini"),
    # the example a missing configuration is copied from stands in for it (sentry's
    # symbolicator/config.yml is made from the config.example.yml beside it)
    ("data/synapse/homeserver.example.yaml", "gitea/app.ini.sample"),
])
def test_configuration_in_the_project_decides(tmp_path, homeserver, app_ini):
    a = analysis(tmp_path, MISSING_CONFIG, {
        homeserver: "database:\n  args:\n    host: db\n",
        app_ini: "[cache]\nHOST = redis://cache:6379/0\n",
    })
    assert reaches(a, "worker") == ["db"] and "worker" not in a.assumed
    assert reaches(a, "portal") == ["cache"] and "portal" not in a.assumed


def test_shared_state_reaches_through_the_same_image_and_volume(tmp_path):
    a = analysis(tmp_path, """
        services:
          configurator:
            image: frappe/erpnext:v15
            environment: {DB_HOST: db}
            volumes: [sites:/sites]
          backend:
            image: frappe/erpnext:v15
            volumes: [sites:/sites]
          unrelated:
            image: frappe/erpnext:v15
          db: {image: mariadb:10.6}
        volumes: {sites: {}}
        """)
    assert "db" in reaches(a, "backend")
    assert "db" not in reaches(a, "unrelated")


def _kin_stack(n: int) -> str:
    out = ["services:\n"]
    for i in range(n):
        out.append(f"  api{i}:\n    image: example/api:1\n    environment: {{TZ: UTC, DB: db{i}}}\n"
                   f"  db{i}:\n    image: postgres:16\n")
    return "".join(out)


@pytest.mark.parametrize("n", [3, 70])
def test_shared_state_of_a_large_kin_group_is_one_group_per_member(tmp_path, monkeypatch, n):
    """A large kin group (every member shares TZ=UTC) gains what its kin reach as group
    dependencies sharing one member tuple, not one dependency per pair: the same reach, in N."""
    import hardener.evidence.shared as shared

    monkeypatch.setattr(shared, "LARGE_GROUP", 100)
    a = analysis(tmp_path, _kin_stack(n))
    kin = [g for g in a.groups if g.kind == "shared"]
    if n * n <= 100:
        assert not kin
        assert "db1" in reaches(a, "api0")
        return
    assert len(kin) == n and len({id(g.dsts) for g in kin}) == 1
    assert set(kin[0].dsts) == {f"db{i}" for i in range(n)}
    assert not [d for d in a.deps.values() if d.kind == "shared"]


def _unshared_stack(n: int) -> str:
    """Kin (one image) that share nothing: each its own database URL; sidecars of an unknown
    image in the APIs' network namespaces keep their reach to every database."""
    return "services:\n" + "".join(
        f"  api{i}:\n    image: example/api:1\n    ports: ['{9000 + i}:80']\n    environment: {{DB: 'postgres://db{i}/x'}}\n"
        f"  side{i}:\n    image: example/sidecar:1\n    network_mode: service:api{i}\n"
        f"  db{i}:\n    image: postgres:16\n" for i in range(n))


def test_a_value_no_other_member_holds_passes_nothing_on(tmp_path, monkeypatch):
    """A large kin group gains only through what two members share: a member's own value gave it
    a group of what it reaches itself, whose member tuple split the data stores into one network
    each (every sidecar namespace then joined all of them: a diff that grew with N * N)."""
    import hardener.evidence.shared as shared

    monkeypatch.setattr(shared, "LARGE_GROUP", 10)
    a = analysis(tmp_path, _unshared_stack(40))
    assert not [g for g in a.groups if g.kind == "shared"]


@pytest.mark.parametrize("stack", [_kin_stack, _unshared_stack])
def test_large_kin_groups_plan_as_pairs_do(tmp_path, monkeypatch, stack):
    """Groups or pairs: the same rewritten file."""
    import hardener.evidence.shared as shared
    from hardener.pipeline import harden_paths

    text = stack(40)
    (tmp_path / "compose.yaml").write_text(text)
    outputs = []
    for limit in (10, 10**9):
        monkeypatch.setattr(shared, "LARGE_GROUP", limit)
        result = harden_paths([str(tmp_path / "compose.yaml")])
        assert result.error is None, result.error
        outputs.append([e.new_text for e in result.changed_edits])
    assert outputs[0] == outputs[1] and outputs[0]


# --- outbound, host network ---------------------------------------------------------------------


def test_outbound_evidence_of_data_stores(tmp_path):
    a = analysis(tmp_path, """
        services:
          pg:
            image: postgres:16
            environment: {WALG_S3_PREFIX: "s3://bucket/pg", POSTGRES_DB: app}
          es:
            image: elasticsearch:8.15.0
            command: bash -c "elasticsearch-plugin install analysis-icu && exec es"
          replica:
            image: redis:7
            command: redis-server --replicaof primary.example.net 6379
          plain:
            image: redis:7
            command: redis-server --save 60 1
          app: {image: foo/app, environment: {REDIS: "redis://plain:6379"}}
        """)
    assert set(a.outbound) >= {"pg", "es", "replica"}
    assert "plain" not in a.outbound


def test_host_network_needs(tmp_path):
    a = analysis(tmp_path, """
        services:
          tunnel:
            image: cloudflare/cloudflared
            network_mode: host
            command: tunnel --url http://localhost:8080
          fw:
            image: foo/fw
            network_mode: host
            cap_add: [NET_ADMIN]
          ddns:
            image: favonia/cloudflare-ddns
            network_mode: host
          exporter:
            image: foo/exporter
            network_mode: host
            command: --web.listen-address=:9100
        """)
    assert a.host_reasons["tunnel"][0] == "host-network-localhost"
    assert a.host_reasons["fw"][0] == "host-network-required"
    assert a.host_reasons["ddns"][0] == "host-network-client"
    assert "exporter" not in a.host_reasons
