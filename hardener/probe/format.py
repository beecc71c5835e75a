"""What the user reads: a probe (or a before/after comparison) as text, JSON or Markdown."""

from __future__ import annotations

import json


def _yn(value: bool | None) -> str:
    return "?" if value is None else "yes" if value else "no"


def _names(items: list[str]) -> str:
    return ", ".join(items) if items else "none"


def _rows(result: dict) -> list[tuple[str, str, str, str, str]]:
    rows = []
    matrix = result.get("matrix") or {}
    for s in sorted(result.get("services") or {}):
        row = matrix.get(s)
        reaches = "?" if row is None else ", ".join(t for t, ok in sorted(row.items()) if ok) or "-"
        aliases = [a for a, ok in sorted(((result.get("aliases") or {}).get(s) or {}).items()) if ok]
        if aliases:
            reaches += f" (aliases: {', '.join(aliases)})"
        rows.append((s, _yn((result.get("egress") or {}).get(s)), _yn((result.get("dns_egress") or {}).get(s)),
                     _yn((result.get("host") or {}).get(s)), reaches))
    return rows


def _published_lines(result: dict) -> list[str]:
    out = []
    for s, ports in sorted((result.get("published") or {}).items()):
        for key, who in sorted(ports.items()):
            out.append(f"{s} {key}: " + ("answers" if who == s else f"answered by {who}" if who else "no answer"))
    return out


def text(result: dict) -> str:
    lines = [f"probe of {result.get('label') or ' + '.join(result.get('files', []))} "
             f"(Docker {result.get('engine')}, stand-in {result.get('image')})"]
    rows = [("service", "way out", "DNS out", "host", "reaches by name")] + _rows(result)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        lines.append("  " + "  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
    pub = _published_lines(result)
    if pub:
        lines.append("published ports (from the host):")
        lines.extend("  " + p for p in pub)
    for note in result.get("notes") or []:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


def verdict(cmp: dict) -> list[str]:
    """The comparison in a few sentences, the first one the headline."""
    out = []
    if "dependencies" in cmp:
        deps = cmp["dependencies"]
        checked = [d for d in deps if d["before"]]
        out.append(f"{len(cmp['dependencies_lost'])} of {len(checked)} connections lost"
                   + (f" ({', '.join(cmp['dependencies_lost'])})" if cmp["dependencies_lost"] else "")
                   + " -- the dependencies compose-harden found that connected before")
        new = [f"{d['from']} -> {d['to']}" for d in deps if not d["before"] and d["after"]]
        if new:
            out.append(f"now connecting by name: {', '.join(new)}")
        never = [f"{d['from']} -> {d['to']}" for d in deps if not d["before"] and not d["after"]]
        if never:
            out.append(f"not reachable by name before or after: {', '.join(never)}")
    c = cmp["connections"]
    out.append(f"connections by name: {c['before']} before, {c['after']} after"
               + (f"; removed: {', '.join(c['removed'])}" if c["removed"] else "")
               + (f"; added: {', '.join(c['added'])}" if c["added"] else ""))
    lost_tcp, lost_dns = set(cmp["egress"]["lost"]), set(cmp["dns_egress"]["lost"])
    both = sorted(lost_tcp & lost_dns)
    if both:
        out.append(f"{', '.join(both)} lost {'its' if len(both) == 1 else 'their'} way out (TCP and DNS)")
    for what, names in (("TCP", sorted(lost_tcp - lost_dns)), ("DNS", sorted(lost_dns - lost_tcp))):
        if names:
            out.append(f"{', '.join(names)} lost {'its' if len(names) == 1 else 'their'} way out over {what} only")
    gained = sorted(set(cmp["egress"]["gained"]) | set(cmp["dns_egress"]["gained"]))
    if gained:
        out.append(f"{', '.join(gained)} gained a way out")
    p = cmp["published"]
    total = len(p["answering"]) + len(p["silent"])
    if total or p["lost"]:
        out.append(f"published ports: {len(p['answering'])} of {total} answer"
                   + (f"; no longer answering: {', '.join(p['lost'])}" if p["lost"] else ""))
    return out


def text_compare(doc: dict) -> str:
    h = doc["hardening"]
    changed = h.get("status") == "written"
    head = ["before and after compose-harden's proposal (applied to a temporary copy)"]
    if not changed:
        head.append("compose-harden proposes no change: both runs probe the same project")
    head += verdict(doc["comparison"])
    open_findings = [f for f in h.get("findings") or [] if not f.get("fixed")]
    if open_findings:
        head.append(f"{len(open_findings)} finding(s) need a human: "
                    + "; ".join(f"[{f['rule']}] {f['service'] or ''}".strip() for f in open_findings))
    return "\n".join(head) + "\n\nBEFORE\n" + text(doc["before"]) + "\nAFTER\n" + text(doc["after"])


def markdown(result: dict) -> str:
    lines = [f"### Runtime probe: {result.get('label') or ' + '.join(result.get('files', []))}", "",
             "| service | way out | DNS out | host | reaches by name |", "| --- | --- | --- | --- | --- |"]
    for r in _rows(result):
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in r) + " |")
    pub = _published_lines(result)
    if pub:
        lines += ["", "Published ports (from the host):", ""] + [f"- {p}" for p in pub]
    notes = result.get("notes") or []
    if notes:
        lines += ["", "<details><summary>notes</summary>", ""] + [f"- {n}" for n in notes] + ["", "</details>"]
    return "\n".join(lines) + "\n"


def markdown_compare(doc: dict) -> str:
    lines = ["## Runtime proof: before and after compose-harden", ""]
    lines += [f"- {v}" for v in verdict(doc["comparison"])]
    return "\n".join(lines) + "\n\n" + markdown({**doc["before"], "label": "before"}) + "\n" + markdown(
        {**doc["after"], "label": "after"})


def render(doc: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(doc, indent=2) + "\n"
    compared = "comparison" in doc
    if fmt == "markdown":
        return markdown_compare(doc) if compared else markdown(doc)
    return text_compare(doc) if compared else text(doc)
