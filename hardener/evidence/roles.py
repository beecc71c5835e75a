"""What images are known to do: admin tools reach the data stores they administer, exporters
reach what they export, metrics scrapers reach the exporters (from the image table's flags)."""

from __future__ import annotations

from hardener.compose import Project
from hardener.evidence.model import Analysis


def collect(project: Project, a: Analysis) -> None:
    data_stores = tuple(n for n, t in a.tiers.items() if t.tier == "data")
    families: dict[str, list[str]] = {}
    for d in data_stores:
        fam = a.tiers[d].family
        if fam:
            families.setdefault(fam, []).append(d)
    by_family = {fam: tuple(stores) for fam, stores in families.items()}
    exporters = tuple(n for n, t in a.tiers.items() if "exporter" in t.flags)
    for name, t in a.tiers.items():
        if "admin" in t.flags:
            if any(d.kind == "config" for d in a.of(name)):
                continue  # its mounted configuration (datasources, servers.json) says what it reaches
            same = by_family.get(t.family or "", ())
            what = t.info.key if t.info else "admin"
            a.add_group(name, same or data_stores, f"admin tool ({what}) for {t.family if same else 'data stores'}", "role")
        if "exporter" in t.flags and t.family:
            a.add_group(name, by_family.get(t.family, ()), f"exporter for {t.family}", "role")
        if "scraper" in t.flags:
            a.add_group(name, exporters, "scrapes exporters", "role")
