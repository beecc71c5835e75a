"""The shortcuts that keep large stacks linear give the result of the direct computation.

Each shortcut is replaced in turn by its direct form and the stacks that take it are hardened both
ways; the edited files and the findings must be the same, byte for byte:

- the planner's bit sets of a group's situations (``Keep._situation_bits``): direct, every
  situation is a candidate and none is ruled out before the exact no-op test;
- the safety check's bit sets (``safety._near``'s index): direct, every member is tested;
- the sharing report's index of what data stores reach (``reports.MANY_STORES``): direct, one
  test per (edge, store);
- the kin-group loop's dropping of members that gained every target (``shared.still_gaining``):
  direct, every member is looked at for every source;
- a member tuple's situations updated for the namespaces that moved (``Situations.refresh``):
  direct, rebuilt from every member at each group's turn;
- the kin-group pair loop's look-up of the members sharing an item with a source
  (``shared._sharing``): direct, every member is compared with every source;
- the planner's test whether two namespaces share a network in every file
  (``Core.share_full_net``, which walks the shorter side and looks the other up in the network
  index): direct, the two lists of networks as sets;
- whether a service depends on one of a few others (``Core._depends``, which looks a proxy's
  thousands of dependencies up by pair): direct, its dependencies walked;
- the members' ways out listed once per pass over the planned networks (the ``ways`` of
  ``Internal.redundant``): direct, listed again at each network;
- Traefik's network labels resolved through an index of the declared networks
  (``Keep.resolve_network``): direct, the declared networks scanned for each label;
- the editor's index of the top-level networks' keys (``compose.KeyIndex``) and its indentation step
  per mapping (``Style.block_mapping_step``): direct, ``find_key`` and the step worked out per call;
- the egress networks that ``internal.EgressNetworks`` keeps up to date while members join them
  (which ``Internal.egress_name`` looks for a fitting one in), and each member's ways out listed
  until it moves (the cache of ``Internal.has_way_out``): direct, both made again at each
  question;
- the representatives' networks in every file, which ``Keep._situation_bits`` reads at each
  group's turn, remembered until the namespace moves (``Keep._full_nets_now``): direct,
  ``full_nets`` at each turn.

The stacks are the benchmark shapes that made these paths quadratic (a proxy with no
configuration per block, each in its own network situation; dense ``depends_on``; workers of one
image sharing one URL; services on five of many declared networks; workers of one image each with
a URL of its own; an anchor making every service depend on two hubs, or on one with no declared
network; two proxies on every block's network; networks of one API and its database each; a vault on
every block's network) and small stacks for the cases around them (an edge in a data store's
network namespace, sidecars, host mode, a store that reaches others).
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from hardener import safety
from hardener.evidence import shared
from hardener.pipeline import harden_paths
from hardener.plan import reports
from hardener.compose import KeyIndex, find_key
from hardener.plan.core import Core
from hardener.plan.internal import EgressNetworks, Internal
from hardener.style import Style
from hardener.plan.keep import Keep
from hardener.plan.situations import Situations

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
from shapes import SHAPES  # noqa: E402

SIDECARS = "services:\n" + "".join(
    f"  app{k}:\n    image: ghcr.io/acme/api\n    ports: ['{9000 + k}:80']\n    environment:\n"
    f"      DB: postgres://db{k}/x\n"
    f"  side{k}:\n    image: ghcr.io/acme/sidecar\n    network_mode: service:app{k}\n"
    f"  db{k}:\n    image: postgres:16\n"
    f"  h{k}:\n    image: ghcr.io/acme/agent\n    network_mode: host\n"
    for k in range(30))

WORKERS = ("services:\n  db:\n    image: postgres:16\n  api:\n    image: ghcr.io/acme/api\n"
           "    environment:\n      DB: postgres://db/x\n" + "".join(
               f"  w{i}:\n    image: ghcr.io/acme/worker\n    depends_on: [db]\n    environment:\n"
               f"      API: http://api:8080\n" + ("      PEER: http://w0:9000\n" if i % 7 == 0 and i else "")
               + ("      AUDIT: http://w1:9000\n" if i == 5 else "")  # a target only one source names
               for i in range(120)))

# every service depends on one hub through an anchor, with no declared network: the hub joins
# every store's data network after its way out
HUB_NO_NETWORK = "x-base: &base\n  depends_on: [vault]\nservices:\n  vault:\n    image: hashicorp/vault:1.16\n" + "".join(
    f"  web{k}:\n    <<: *base\n    image: nginx\n    ports: ['{8000 + k}:80']\n"
    f"  api{k}:\n    <<: *base\n    image: ghcr.io/acme/api:{k}\n    environment:\n      DB: postgres://db{k}/x\n"
    f"  db{k}:\n    <<: *base\n    image: postgres:16\n"
    for k in range(25))

# edges beside more than MANY_STORES data stores that the tool does not move (they come from an
# included file): some stores reach an edge, which then stays beside all of them; some caches
# share their edge's network namespace; one store is of an unknown image (a guessed tier)
EDGE_STORES = "include:\n  - stores.yaml\nservices:\n" + "".join(
    f"  web{k}:\n    image: nginx\n    ports: ['{8000 + k}:80']\n"
    + (f"  cache{k}:\n    image: redis:7\n    network_mode: service:web{k}\n" if k % 11 == 0 else "")
    for k in range(40))
INCLUDED_STORES = "services:\n" + "".join(
    f"  db{k}:\n    image: postgres:16\n"
    + (f"    environment:\n      CALLBACK: http://web{k}:80\n" if k % 3 == 0 and k < 40 else "")
    for k in range(80)) + "  odd:\n    image: ghcr.io/acme/mystery-db\n"

STACKS = {
    "dense-deps": lambda: SHAPES["dense-deps"](400).compose,
    "merge-lists": lambda: SHAPES["merge-lists"](160).compose,
    "four-tier": lambda: SHAPES["four-tier"](120).compose,
    "shared-nets": lambda: SHAPES["shared-nets"](120).compose,
    "wide-nets": lambda: SHAPES["wide-nets"](200).compose,
    "global-db": lambda: SHAPES["global-db"](200).compose,
    "hub-anchor": lambda: SHAPES["hub-anchor"](120).compose,
    "gateway-nets": lambda: SHAPES["gateway-nets"](120),
    "private-nets": lambda: SHAPES["private-nets"](120).compose,
    "hub-blocks": lambda: SHAPES["hub-blocks"](160).compose,
    "hub-no-network": lambda: HUB_NO_NETWORK,
    "mixed": lambda: SHAPES["mixed"](40).compose,
    "sidecars": lambda: SIDECARS,
    "workers": lambda: WORKERS,
    "edge-stores": lambda: EDGE_STORES,
}


def _direct_situation_bits(self, situations):
    everything = (1 << len(situations)) - 1
    return defaultdict(lambda: everything), everything, everything, {}


def _rebuilt(self):
    self.moved.clear()
    self._build()
    return True


_REAL_REDUNDANT = Internal.redundant
_REAL_EGRESS_NAME = Internal.egress_name
_REAL_HAS_WAY_OUT = Internal.has_way_out


def _fresh_egress_networks(self, net, egress):
    return _REAL_EGRESS_NAME(self, net, EgressNetworks(self.names, self.net_index()))


def _direct_has_way_out(self, owner, internal, net, cache):
    return _REAL_HAS_WAY_OUT(self, owner, internal, net, {})


def _fresh_ways(self, name, members, internal, ways):
    return _REAL_REDUNDANT(self, name, members, internal, {})


def _scan_declared(self, label):
    for key, d in self.declared.items():
        if label == key or (isinstance(d, dict) and d.get("name") == label):
            return key
    if label == "default" or label.endswith("_default"):
        return "default"
    for key in self.declared:
        if label.endswith("_" + key):
            return key
    return None


def _direct_near(members, pb, pa, src_b, src_a, index, key):
    return range(len(members))


DIRECT = {
    "keep": lambda m: m.setattr(Keep, "_situation_bits", _direct_situation_bits),
    "safety": lambda m: m.setattr(safety, "_near", _direct_near),
    "reports": lambda m: m.setattr(reports, "MANY_STORES", 10 ** 9),
    "shared": lambda m: m.setattr(shared, "still_gaining", lambda others, full, targets: others),
    "situations": lambda m: m.setattr(Situations, "refresh", _rebuilt),
    "sharing": lambda m: m.setattr(shared, "_sharing", lambda src, others, *rest: others),
    "share-full-net": lambda m: m.setattr(
        Core, "share_full_net", lambda self, a, b: not set(self.full_nets(a)).isdisjoint(self.full_nets(b))),
    "depends": lambda m: m.setattr(Core, "_depends", lambda self, src, dsts: any(d.dst in dsts for d in self.a.of(src))),
    "ways": lambda m: m.setattr(Internal, "redundant", _fresh_ways),
    "traefik-labels": lambda m: m.setattr(Keep, "resolve_network", _scan_declared),
    "key-index": lambda m: m.setattr(KeyIndex, "find", lambda self, key: find_key(self.mapping, key)),
    "mapping-step": lambda m: m.setattr(Style, "block_mapping_step", Style._block_mapping_step),
    "egress-networks": lambda m: m.setattr(Internal, "egress_name", _fresh_egress_networks),
    "ways-out": lambda m: m.setattr(Internal, "has_way_out", _direct_has_way_out),
    "full-nets": lambda m: m.setattr(Keep, "_full_nets_now", lambda self, b: self.full_nets(b)),
}


def _write(folder, compose) -> None:
    if isinstance(compose, str):
        (folder / "compose.yaml").write_text(compose, encoding="utf-8")
    else:  # a benchmark Project: the compose file and the files beside it
        compose.write(str(folder))
    (folder / "stores.yaml").write_text(INCLUDED_STORES, encoding="utf-8")


def _harden(folder) -> tuple:
    result = harden_paths([os.path.join(folder, "compose.yaml")])
    assert result.error is None, result.error
    return ([e.new_text for e in result.edits],
            [(f.rule, f.service, f.message, f.fixed) for f in result.findings])


@pytest.mark.parametrize("shortcut", sorted(DIRECT))
@pytest.mark.parametrize("stack", sorted(STACKS))
def test_shortcut_gives_the_direct_result(stack, shortcut, tmp_path, monkeypatch):
    _write(tmp_path, STACKS[stack]())
    fast = _harden(tmp_path)
    with monkeypatch.context() as m:
        DIRECT[shortcut](m)
        direct = _harden(tmp_path)
    assert fast == direct


def test_the_stacks_take_the_shortcuts(tmp_path, monkeypatch):
    """The comparison above is not vacuous: the stacks reach each shortcut."""
    taken: set[str] = set()
    with monkeypatch.context() as m:
        real_bits, real_many, real_gaining = Keep._situation_bits, reports.Reports.unlinked_many, shared.still_gaining
        m.setattr(Keep, "_situation_bits", lambda *a: taken.add("keep") or real_bits(*a))
        m.setattr(reports.Reports, "unlinked_many", lambda *a: taken.add("reports") or real_many(*a))
        m.setattr(shared, "still_gaining", lambda *a: taken.add("shared") or real_gaining(*a))
        real_near = safety._near
        m.setattr(safety, "_near", lambda *a: taken.add("safety") or real_near(*a))
        real_refresh = Situations.refresh

        def refresh(self):
            changed = real_refresh(self)
            if changed:
                taken.add("situations")
            return changed

        m.setattr(Situations, "refresh", refresh)
        real_sharing = shared._sharing

        def sharing(src, others, *rest):
            found = real_sharing(src, others, *rest)
            if found is not others:
                taken.add("sharing")
            return found

        m.setattr(shared, "_sharing", sharing)
        real_share = Core.share_full_net

        def share(self, a, b):
            if min(len(self.nets_after(a)), len(self.nets_after(b))) * 4 < max(len(self.nets_after(a)), len(self.nets_after(b))):
                taken.add("share-full-net")  # one side much longer: the walk of the shorter one matters
            return real_share(self, a, b)

        m.setattr(Core, "share_full_net", share)
        real_depends = Core._depends

        def depends(self, src, dsts):
            if len(self.a.of(src)) > len(dsts):
                taken.add("depends")  # looked up by pair
            return real_depends(self, src, dsts)

        m.setattr(Core, "_depends", depends)

        def redundant(self, name, members, internal, ways):
            if ways:
                taken.add("ways")  # a member's ways out listed at an earlier network
            return _REAL_REDUNDANT(self, name, members, internal, ways)

        m.setattr(Internal, "redundant", redundant)
        real_resolve = Keep.resolve_network
        m.setattr(Keep, "resolve_network", lambda self, label: taken.add("traefik-labels") or real_resolve(self, label))
        real_find = KeyIndex.find

        def find(self, key):
            if len(self.own) > 50:
                taken.add("key-index")
            return real_find(self, key)

        m.setattr(KeyIndex, "find", find)
        real_step = Style.block_mapping_step

        def step(self, mapping):
            if id(mapping) in self._steps:
                taken.add("mapping-step")  # worked out before
            return real_step(self, mapping)

        m.setattr(Style, "block_mapping_step", step)

        def egress_name(self, net, egress):
            if len(egress.first) > 10:
                taken.add("egress-networks")  # many egress roles not looked at one by one
            return _REAL_EGRESS_NAME(self, net, egress)

        m.setattr(Internal, "egress_name", egress_name)

        def has_way_out(self, owner, internal, net, cache):
            if cache and owner in cache and cache[owner][0] == (self.moves.get(owner, 0), len(internal)):
                taken.add("ways-out")  # listed before
            return _REAL_HAS_WAY_OUT(self, owner, internal, net, cache)

        m.setattr(Internal, "has_way_out", has_way_out)
        real_full = Keep._full_nets_now

        def full_nets_now(self, b):
            if b in self._full_cache and self._full_cache[b][0] == self.moves.get(b, 0):
                taken.add("full-nets")  # remembered from a group's turn before
            return real_full(self, b)

        m.setattr(Keep, "_full_nets_now", full_nets_now)
        for name, make in STACKS.items():
            folder = tmp_path / name
            folder.mkdir()
            _write(folder, make())
            _harden(folder)
    assert taken == set(DIRECT)


class _Declared:
    def __init__(self, declared):
        self.declared = declared


_WORDS = st.sampled_from(["a", "b", "a_b", "b_a", "default", "shop", "shop_a", "x_default", "front"])


@settings(max_examples=300, deadline=None)
@given(keys=st.lists(_WORDS, unique=True, max_size=6),
       names=st.lists(st.one_of(st.none(), _WORDS, st.integers()), max_size=6),
       label=st.builds(lambda parts: "_".join(parts), st.lists(_WORDS, min_size=1, max_size=3)))
def test_traefik_label_index_resolves_as_the_scan(keys, names, label):
    declared = {k: ({"name": n} if n is not None else None) for k, n in zip(keys, names + [None] * len(keys))}
    assert Keep.resolve_network(_Declared(declared), label) == _scan_declared(_Declared(declared), label)
