"""Reachability kept where the evidence is missing: the first rule of the planner is to cut a
connection only on evidence that it is not needed.

* A reverse proxy whose routes are unknown (:mod:`hardener.evidence.routing`) keeps its reach to
  every service it could route to: application services, other edge services, and data stores
  that serve HTTP to clients (object stores such as MinIO: the image table's ``routable`` flag).
* A service whose needs are unknown keeps its reach to the data stores: an application image the
  tool does not know, a service built from source that could not be read whole, an application whose
  mounted configuration is not in the project (created at run time, or copied from an example by
  hand), and any service whose tier is a guess -- unless it shows evidence of which data stores it
  uses (then its evidence decides; not for the missing configuration, which is where it would
  name the rest). A guessed edge service (it publishes 80/443, or its name says proxy) that
  shows evidence of what it reaches is a proxy whose routing is unknown, not an application.

* An image that connects to services configured at run time (workflow engines, BI tools,
  monitors: the image table's ``integrations`` flag) keeps its reach to the data stores whatever
  the file shows: n8n's credentials live in its own database.

Known needs: data stores from the image table, application images from the image table (their
evidence is their configuration), and services built from source that was read whole.
"""

from __future__ import annotations

from hardener.compose import Project
from hardener.evidence.model import Analysis


def collect(project: Project, a: Analysis, unread_source: dict[str, str],
            unread_config: dict[str, str] | None = None) -> None:
    tiers = a.tiers
    data_stores = tuple(n for n, t in tiers.items() if t.tier == "data")
    routable = tuple(
        n for n, t in tiers.items()
        if t.tier != "data" or t.guessed or "routable" in t.flags
    )
    uses_data_store = _DataStoreUse(a, data_stores)
    for name, t in tiers.items():
        routing = a.routing.get(name)
        if t.tier == "edge" and routing is not None and not routing.known:
            why = f"routing unknown: {routing.why}"
            a.assumed[name] = why
            a.add_group(name, routable, f"{why}: keeps its reach to the services it could route to", "assumed")
        if "integrations" in t.flags and data_stores:
            why = f"{t.info.key if t.info else name} connects to services configured at run time"
            a.assumed[name] = why
            a.add_group(name, data_stores, f"{why}: whatever the file shows", "assumed")
            continue
        if t.tier == "app" and unread_config and name in unread_config and data_stores:
            # what it names elsewhere is not all it may use: the configuration it reads is not here
            # (an edge's unread configuration is its routes: see above)
            why = unread_config[name]
            a.assumed[name] = why
            a.add_group(name, data_stores, f"{why}: whatever else the file shows", "assumed")
            continue
        unknown = _unknown_needs(project, a, name, unread_source)
        if unknown and t.tier == "edge" and t.guessed and a.shows_evidence(name):
            unknown = None  # a guessed edge that shows what it reaches is a proxy whose routing is unknown
        if unknown and data_stores and not uses_data_store(name):
            a.assumed.setdefault(name, unknown)
            a.add_group(name, data_stores, f"{unknown}: no evidence either way", "assumed")


class _DataStoreUse:
    """Does a service reach a data store on evidence? A group's member tuple is looked at once,
    however many services share it (kin groups of thousands of services share one)."""

    def __init__(self, a: Analysis, data_stores: tuple[str, ...]):
        self.a = a
        self.data = set(data_stores)
        self.in_tuple: dict[int, list[str]] = {}  # id(member tuple) -> its first two data stores

    def __call__(self, name: str) -> bool:
        if any(d.kind != "assumed" and d.dst in self.data for d in self.a.of(name)):
            return True
        for g in self.a.groups_by_src.get(name, []):
            if g.kind == "assumed":
                continue
            found = self.in_tuple.get(id(g.dsts))
            if found is None:
                found = self.in_tuple[id(g.dsts)] = []
                for d in g.dsts:
                    if d in self.data and d not in found:
                        found.append(d)
                        if len(found) == 2:
                            break
            if any(d != name for d in found):
                return True
        return False


def _unknown_needs(project: Project, a: Analysis, name: str, unread_source: dict[str, str]) -> str | None:
    """Why the service's needs are unknown (None when they are known)."""
    t = a.tiers[name]
    if t.forced:
        return None  # x-compose-harden tier: the user said what it is; talks-to says what it needs
    if name in unread_source:
        return f"built from source and {unread_source[name]}"
    if t.guessed and t.tier != "edge":
        return f"its tier is a guess ({t.evidence})" if t.tier == "data" else f"{t.evidence.split(';')[0]}"
    if t.guessed and t.tier == "edge":
        return f"its tier is a guess ({t.evidence})"
    return None
