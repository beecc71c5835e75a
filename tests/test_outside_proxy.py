"""A discovery proxy the files do not hold (Traefik merged from another compose file at run time,
nginx-proxy in its own project) still routes to the services whose labels or VIRTUAL_HOST say
so: they keep the network it can meet them on (rule proxy-outside-project)."""

from conftest import project_of
from hardener.evidence import analyse
from hardener.plan import make_plan


def plan_of(tmp_path, text):
    project, tiers, reader = project_of(tmp_path, text)
    return make_plan(project, analyse(project, tiers, reader))


def networks_after(plan, name):
    after = plan.services[name].after.get("networks")
    return None if not isinstance(after, (list, dict)) else [str(n) for n in after]


def notes(plan):
    return sorted((f.rule, f.service) for f in plan.findings if f.rule == "proxy-outside-project")


def _app(extra_labels: str = "", app_extra: str = "", tail: str = "") -> str:
    return (
        "services:\n"
        "  app:\n"
        "    image: ghcr.io/acme/app:1\n"
        "    labels:\n"
        "      - traefik.enable=true\n"
        "      - traefik.http.routers.app.rule=Host(`app.example.com`)\n"
        f"{extra_labels}"
        "    environment:\n"
        "      DB_HOST: db\n"
        f"{app_extra}"
        "  db:\n"
        "    image: postgres:16\n"
        f"{tail}"
    )


def test_a_labelled_service_keeps_the_default_network_when_no_traefik_is_in_the_files(tmp_path):
    plan = plan_of(tmp_path, _app())
    assert networks_after(plan, "app")[0] == "default"
    assert networks_after(plan, "db") == ["data"]
    assert notes(plan) == [("proxy-outside-project", "app")]


def test_a_traefik_network_label_names_where_the_proxy_meets_it(tmp_path):
    plan = plan_of(tmp_path, _app(
        extra_labels="      - traefik.docker.network=proxy\n",
        app_extra="    networks: [proxy, default]\n",
        tail="networks:\n  proxy:\n    external: true\n"))
    assert "default" not in networks_after(plan, "app") and "proxy" in networks_after(plan, "app")
    assert notes(plan) == []


def test_with_the_traefik_in_the_files_nothing_is_assumed(tmp_path):
    plan = plan_of(tmp_path, _app(tail=(
        "  traefik:\n"
        "    image: traefik:v3.1\n"
        "    command: [--providers.docker=true]\n"
        "    ports: [\"443:443\"]\n"
        "    volumes: [/var/run/docker.sock:/var/run/docker.sock:ro]\n")))
    assert "default" not in networks_after(plan, "app")
    assert notes(plan) == []


BLOG = """\
services:
  blog:
    image: ghost:5
    environment:
      VIRTUAL_HOST: blog.example.com
      database__connection__host: db
  db:
    image: mysql:8.4
"""


def test_virtual_host_counts_as_routing(tmp_path):
    plan = plan_of(tmp_path, BLOG)
    assert networks_after(plan, "blog")[0] == "default"
    assert notes(plan) == [("proxy-outside-project", "blog")]


def _minio(label: str, more_networks: str = "") -> str:
    """An app, MinIO and Postgres on one flat network other projects attach to (``name: web``),
    MinIO routed by Traefik labels (``label`` the second one) and no Traefik in the file."""
    return (
        "services:\n"
        "  app:\n"
        "    image: ghcr.io/acme/app:1\n"
        "    environment: {S3_ENDPOINT: \"http://minio:9000\", DB_HOST: db}\n"
        "    networks: [web]\n"
        "  minio:\n"
        "    image: minio/minio:RELEASE.2024-06-13T22-53-53Z\n"
        "    labels:\n"
        "      - traefik.enable=true\n"
        f"      - {label}\n"
        "    networks: [web]\n"
        "  db:\n"
        "    image: postgres:16\n"
        "    networks: [web]\n"
        "networks:\n"
        "  web:\n"
        "    name: web\n"
        f"{more_networks}"
    )


def test_a_labelled_data_store_stays_on_a_flat_network_an_outside_proxy_may_use(tmp_path):
    # MinIO's console routed by a Traefik of another project that attaches to "web"
    plan = plan_of(tmp_path, _minio("traefik.http.routers.minio.rule=Host(`s3.example.com`)"))
    assert "web" in networks_after(plan, "minio") or plan.services["minio"].after.get("networks") == \
        plan.services["minio"].before.get("networks")
    assert "web" not in (networks_after(plan, "db") or ["web"])  # the other store still leaves


def test_a_label_naming_a_network_the_store_is_not_on_keeps_it_on_the_flat_network(tmp_path):
    plan = plan_of(tmp_path, _minio("traefik.docker.network=proxy", "  proxy:\n    external: true\n"))
    assert "web" in networks_after(plan, "minio")


def test_a_proxy_of_another_kind_in_the_files_does_not_route_it(tmp_path):
    # a Traefik in the files does not read VIRTUAL_HOST: nginx-proxy, from elsewhere, does
    plan = plan_of(tmp_path, BLOG + (
        "  traefik:\n"
        "    image: traefik:v3.1\n"
        "    command: [--providers.docker=true]\n"
        "    ports: [\"443:443\"]\n"
        "    volumes: [/var/run/docker.sock:/var/run/docker.sock:ro]\n"))
    assert networks_after(plan, "blog")[0] == "default"
    assert notes(plan) == [("proxy-outside-project", "blog")]


def test_on_the_legacy_bridge_it_stays_there(tmp_path):
    plan = plan_of(tmp_path, _app(app_extra="    network_mode: bridge\n"))
    assert plan.services["app"].after.get("network_mode") == "bridge"
    assert ("proxy-outside-project", "app") in notes(plan)


def test_nothing_to_change_says_nothing_of_outside_proxies(tmp_path):
    plan = plan_of(tmp_path, "services:\n  app:\n    image: ghcr.io/acme/app:1\n    labels: [traefik.enable=true]\n")
    assert not plan.changed and notes(plan) == []
