"""The knowledge tables: well-formed, large enough, and covering every image of the corpus."""

import os

import pytest

from conftest import CORPUS
from hardener import knowledge
from hardener.classify import image_of
from hardener.compose import build_project, load_file
from hardener.errors import InputError


def test_tables_load_and_are_well_formed():
    images = knowledge.images()
    assert len(images) >= 150
    assert {i.tier for i in images.values()} == {"data", "app", "edge"}
    for info in images.values():
        assert "host-network" not in info.flags or info.note, f"{info.key}: a host-network row needs its reason"
    assert knowledge.ports()[knowledge.Port(5432)].tier == "data"
    assert knowledge.names()["db"][0] == "data"


@pytest.mark.parametrize(
    "ref, org, name",
    [
        ("ghcr.io/immich-app/postgres:14-vectorchord0.4.3@sha256:" + "a" * 64, "immich-app", "postgres"),
        ("docker.io/valkey/valkey:9", "valkey", "valkey"),
        ("bitnami/redis", "bitnami", "redis"),
        ("redis:7", None, "redis"),
        ("mcr.microsoft.com/azure-sql-edge", None, "azure-sql-edge"),
        ("localhost:5000/team/api:1.2", "team", "api"),
        ("postgres@sha256:" + "b" * 64, None, "postgres"),
    ],
)
def test_image_reference(ref, org, name):
    assert knowledge.image_reference(ref) == (org, name)


@pytest.mark.parametrize(
    "ref, tier",
    [
        ("ghcr.io/immich-app/postgres:14@sha256:" + "c" * 64, "data"),
        ("bitnami/redis:7.2", "data"),
        ("docker.io/valkey/valkey:8-alpine", "data"),
        ("traefik:v3.1", "edge"),
        ("dpage/pgadmin4", "app"),
        ("zulip/zulip-postgresql:14", "data"),
    ],
)
def test_lookup(ref, tier):
    info, _ = knowledge.lookup_image(ref)
    assert info is not None and info.tier == tier


@pytest.mark.parametrize(
    "ref, tier, flags, family",
    [
        # names with a data-store word that are not data stores
        ("zabbix/zabbix-proxy-mysql:alpine-7.0-latest", "app", set(), "mysql"),
        ("zabbix/zabbix-server-pgsql:ubuntu-7.0-latest", "app", set(), "postgres"),
        ("zabbix/zabbix-web-nginx-pgsql:alpine-7.0-latest", "app", {"admin"}, "postgres"),
        ("zabbix/zabbix-web-apache-mysql", "app", {"admin"}, "mysql"),
        ("supabase/postgres-meta:v0.95.2", "app", {"admin"}, "postgres"),
        ("zabbix-build-mysql:alpine-local", "app", set(), None),
        # names with a proxy word that are not edge services
        ("ubuntu/squid:latest", "app", {"forward-proxy"}, None),
        ("zabbix/zabbix-java-gateway:alpine-7.0-latest", "app", {"jvm"}, None),
        ("supabase/edge-runtime:v1.70.3", "app", set(), None),
        # data stores, and the same image in every role
        ("wazuh/wazuh-indexer:4.9.0", "data", set(), "elasticsearch"),
        ("supabase/supavisor:2.7.4", "data", set(), "postgres"),
        ("supabase/postgres:15.8.1.085", "data", set(), "postgres"),
        ("frappe/erpnext:v15.41.2", "app", set(), None),
        ("makeplane/plane-backend:stable", "app", set(), None),
        ("minio/minio:RELEASE.2024-01-01T00-00-00Z", "data", {"routable"}, "minio"),
        ("budibase/couchdb", "data", {"routable"}, "couchdb"),
        # vendors' front proxies with baked routing: edge, in the dialect their image uses
        ("makeplane/plane-proxy:stable", "edge", set(), "caddy"),
        ("penpotapp/frontend:2.4", "edge", set(), "nginx"),
        ("ghcr.io/mailcow/nginx:1.30.4-1", "edge", set(), "nginx"),
        # host networking and clients
        ("ghcr.io/mailcow/netfilter:1.64", "app", {"host-network"}, None),
        ("qmcgaw/ddns-updater", "app", {"client"}, None),
        ("oznu/cloudflare-ddns", "app", {"client"}, None),
        ("timothyjmiller/cloudflare-ddns:latest", "app", {"client"}, None),
        ("wazuh/wazuh-agent:4.9.0", "app", {"client"}, None),
        # org/name rows for generic last components
        ("ghcr.io/open-runtimes/orchestrator/orchestrator:1.3.0", "app", set(), None),
        ("temporalio/ui:2.30.0", "app", set(), None),
        ("signoz/signoz:v0.129.0", "app", set(), None),
    ],
)
def test_lookup_exact(ref, tier, flags, family):
    """Images of monitoring, BaaS, ERP and mail stacks match a row of their own, not a word."""
    info, how = knowledge.lookup_image(ref)
    assert info is not None, ref
    assert "a word of" not in how, f"{ref} matched only {how}"
    assert (info.tier, set(info.flags), info.family) == (tier, flags, family)


def test_every_row_says_what_it_is():
    for info in knowledge.images().values():
        assert info.note.strip(), f"{info.key}: a row needs a note"


def corpus_compose_files():
    rows = [line.split("\t") for line in open(os.path.join(CORPUS, "SOURCES.tsv")).read().splitlines()[1:]]
    return [os.path.join(CORPUS, r[0].replace("/", "+", 1), r[2]) for r in rows if len(r) > 3 and r[3] == "compose"]


@pytest.mark.skipif(not os.path.isdir(CORPUS), reason="../shared/corpus is not present")
def test_every_corpus_image_is_in_the_table():
    """An image of the corpus that the table does not know, and that is only guessed, fails."""
    unknown = {}
    checked = 0
    for path in corpus_compose_files():
        try:
            project = build_project([load_file(path, 10 * 1024 * 1024)], 10 * 1024 * 1024)
        except InputError:
            continue
        for svc in project.services.values():
            image = image_of(svc.data, project.env)
            if not image or "$" in image:
                continue  # a variable with no default: nothing to classify
            org, name = knowledge.image_reference(image)
            if not name:
                continue  # e.g. "mattermost/${IMAGE}:${TAG}" with the variables unset
            checked += 1
            table = knowledge.images()
            if name not in table and f"{org}/{name}" not in table:
                unknown.setdefault(image, path)
    assert checked > 400
    assert not unknown, f"{len(unknown)} corpus images are not in hardener/data/images.tsv: " + ", ".join(sorted(unknown))
