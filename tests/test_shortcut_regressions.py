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
