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
