"""``--format markdown``: a pull-request body a reviewer can approve from.

One line of what changed and why; per project a table of its services (tier, networks before ->
after, the evidence), the findings that need a human and those acknowledged, what was not
verified, a before and an after picture of the topology (Mermaid ``graph LR``, one subgraph per
network, internal networks marked; GitHub renders it) and the diff folded away; then how to opt
out and the exact command that reproduces the change. The same text goes to the GitHub job
summary in the Action. Everything taken from the files is escaped: control characters, Markdown
and HTML in names never change how the body renders.
"""

from __future__ import annotations

from typing import Any

from hardener import __version__
from hardener.compose import untag
from hardener.pipeline import Result
from hardener.plan import ABSENT, Plan, ServicePlan
from hardener.report import display_path, unified_diff
from hardener.rules import registry
from hardener.terminal import escape

LIMIT = 60000  # GitHub refuses pull-request bodies over 65,536 characters
_MD_SPECIAL = "\\`*_{}[]<>()#+!|~"


def md(text: str) -> str:
    """Plain Markdown text: control characters escaped, Markdown and HTML inert."""
    text = escape(str(text))
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in text)


def code(text: str) -> str:
    """An inline code span (or escaped text when the value holds a backtick)."""
    text = escape(str(text))
    if "`" in text:
        return md(text)
    return "`" + text.replace("|", "\\|") + "`"


def cell(text: str) -> str:
    return text.replace("\n", " ")


def fence(body: str, lang: str) -> str:
    run = max((len(r) for r in _backtick_runs(body)), default=0)
    ticks = "`" * max(3, run + 1)
    return f"{ticks}{lang}\n{body}{'' if body.endswith(chr(10)) else chr(10)}{ticks}\n"


def _backtick_runs(text: str) -> list[str]:
    runs, cur = [], ""
    for ch in text:
        if ch == "`":
            cur += ch
        elif cur:
            runs.append(cur)
            cur = ""
    if cur:
        runs.append(cur)
    return runs


# --- the report -----------------------------------------------------------------------------


def markdown_report(results: list[Result], mode: str, reproduce: str) -> str:
    done = mode == "write"
    head = ["## compose-harden: network segmentation", "", _what_and_why(results, done), ""]
    tail = _opt_out() + _reproduce(reproduce)
    sections: list[str] = []
    size = sum(len(x) + 1 for x in head + tail)
    short: list[str] = []
    for r in results:
        full = "\n".join(_project(r, done, compact=False))
        if size + len(full) < LIMIT and not short:
            sections.append(full)
            size += len(full) + 1
            continue
        brief = "\n".join(_project(r, done, compact=True))
        if size + len(brief) < LIMIT - 200:
            sections.append(brief)
            size += len(brief) + 1
        else:
            short.append(_name(r))
    if short:
        sections.append(f"… and {len(short)} more projects, left out to keep this body under GitHub's limit: "
                        "run the command below to see them.\n")
    return "\n".join(head + sections + tail)


def _name(r: Result) -> str:
    return " + ".join(display_path(p) for p in r.paths)


def _what_and_why(results: list[Result], done: bool) -> str:
    ok = [r for r in results if r.error is None and r.plan is not None]
    changed = [r for r in ok if r.changed_edits]
    services = sum(len(r.plan.changed_services()) for r in changed)  # type: ignore[union-attr]
    internal = sum(1 for r in changed for n in r.plan.networks.values()  # type: ignore[union-attr]
                   if n.set_internal or (n.create and isinstance(n.definition, dict) and n.definition.get("internal")))
    host = sum(1 for r in changed for sp in r.plan.changed_services()  # type: ignore[union-attr]
               if sp.before.get("network_mode") == "host" and sp.after.get("network_mode") is ABSENT)
    files = sum(len(r.changed_edits) for r in changed)
    errors = len(results) - len(ok)
    failed = f" {errors} project(s) could not be processed and were left untouched (below)." if errors else ""
    if not changed:
        if not ok:
            return "**Nothing was changed**:" + failed
        findings = sum(len(r.open_findings) for r in ok)
        line = "**Nothing to change**: the networking of these compose files is already segmented as far as the evidence allows."
        if findings:
            line += f" {findings} finding(s) below need a human."
        return line + failed
    verb = "This change puts" if done else "compose-harden would put"
    parts = [f"{verb} {services} service(s) in {files} file(s) on per-tier networks"]
    if internal:
        parts.append(f"makes {internal} network(s) that carry data stores `internal: true`")
    if host:
        parts.append(f"removes an undocumented `network_mode: host` from {host} service(s)")
    what = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return (f"{what}, so that a compromised public-facing service cannot reach the databases directly and a "
            "database cannot call out. Reachability is removed only on evidence: every dependency the tool "
            "found still shares a network, and nothing outside the network keys changes." + failed)


def _project(r: Result, done: bool, compact: bool) -> list[str]:
    out = [f"### {code(_name(r))}", ""]
    if r.error is not None:
        return out + [f"**Could not be processed** (left untouched): {md(str(r.error))}", ""]
    plan = r.plan
    assert plan is not None
    if not r.changed_edits:
        out += ["Nothing to change." + (f" {len(r.open_findings)} finding(s) need a human." if r.open_findings else ""), ""]
    out += _table(plan)
    if r.settings.path:
        out += [f"Configuration: {code(r.settings.path)}.", ""]
    out += _network_changes(plan, done)
    out += _findings(r)
    out += _notes(r)
    if compact:
        return out
    before, after = topology(plan, "before"), topology(plan, "after")
    out += ["#### Topology before", "", fence(before, "mermaid"), "#### Topology after", "", fence(after, "mermaid")]
    for fe in r.changed_edits:
        diff = unified_diff(display_path(fe.file.path), fe.file.source.text, fe.new_text, fe.splices)
        out += [f"<details><summary>Diff of {md(display_path(fe.file.path))}</summary>", "",
                fence(escape(diff, keep="\t\n"), "diff"), "</details>", ""]
    return out


def _table(plan: Plan) -> list[str]:
    rows = ["| service | tier | networks before | networks after | evidence |", "| --- | --- | --- | --- | --- |"]
    final = plan.final_networks()
    for name, sp in plan.services.items():
        before = _shown(sp, "before", plan.project.networks)
        after = _shown(sp, "after", final)
        evidence = [sp.tier.evidence]
        if sp.changed_keys:
            evidence += [f"{n}: {why}" for n, why in sp.why.items()]
            if sp.ports_why and "ports" in sp.changed_keys:
                evidence.append(sp.ports_why)
        rows.append(f"| {code(name)} | {sp.tier.tier} | {cell(before)} | {cell(after if sp.changed_keys else 'unchanged')} | "
                    f"{cell(md('; '.join(evidence)))} |")
    return rows + [""]


def _membership(sp: ServicePlan, when: str) -> tuple[str, list[str]]:
    """("nets", names) | ("host", []) | ("bridge", []) | ("namespace", [owner]) | ("none"/"other", [mode])."""
    values = sp.before if when == "before" else sp.after
    mode = values.get("network_mode", ABSENT)
    if mode is not ABSENT and mode is not None:
        mode = str(untag(mode))
        if mode == "host":
            return "host", []
        if mode == "bridge":
            return "bridge", []
        if mode.startswith(("service:", "container:")):
            return "namespace", [mode.split(":", 1)[1]]
        return "other", [mode]
    nets = values.get("networks", ABSENT)
    if nets is ABSENT or nets is None:
        return "nets", ["default"]
    nets = untag(nets)
    if isinstance(nets, dict):
        return "nets", [str(k) for k in nets]
    if isinstance(nets, list):
        return "nets", [str(untag(n)) for n in nets if n is not None]
    return "other", [str(nets)]


def _internal(defs: dict, name: str) -> bool:
    d = untag(defs.get(name))
    return isinstance(d, dict) and untag(d.get("internal")) is True


def _external(defs: dict, name: str) -> bool:
    d = untag(defs.get(name))
    return isinstance(d, dict) and bool(untag(d.get("external")))


def _shown(sp: ServicePlan, when: str, defs: dict) -> str:
    kind, names = _membership(sp, when)
    if kind == "host":
        return "host (network_mode)"
    if kind == "bridge":
        return "legacy bridge (network_mode)"
    if kind == "namespace":
        return f"shares the namespace of {code(names[0])}"
    if kind == "other":
        return f"network_mode: {code(names[0])}"
    if names == ["default"] and "default" not in defs:
        return "default"
    return ", ".join(code(n) + (" (internal)" if _internal(defs, n) else "") for n in names)


def _network_changes(plan: Plan, done: bool) -> list[str]:
    items = []
    for n, np_ in plan.networks.items():
        if np_.create:
            internal = isinstance(np_.definition, dict) and np_.definition.get("internal")
            items.append(f"{code(n)} {'created' if done else 'to create'}" + (", `internal: true`" if internal else ""))
        elif np_.set_internal:
            items.append(f"{code(n)} {'marked' if done else 'to mark'} `internal: true` ({md(np_.reason)})")
    return (["Networks: " + "; ".join(items) + ".", ""]) if items else []


def _findings(r: Result) -> list[str]:
    rules = registry()
    out: list[str] = []
    if r.open_findings:
        out += ["#### Needs a human", ""]
        for f in r.open_findings:
            who = f" **{md(f.service)}**" if f.service else ""
            out.append(f"- {code(f.rule)}{who}: {md(f.message)} ([why]({rules[f.rule].help_uri}))")
        out.append("")
    if r.acknowledged_findings:
        out += ["#### Acknowledged", ""]
        for f in r.acknowledged_findings:
            who = f" **{md(f.service)}**" if f.service else ""
            out.append(f"- {code(f.rule)}{who}: {md(f.message)} — accepted: {md(f.acknowledged.reason)} "
                       f"({md(f.acknowledged.where)})")
        out.append("")
    return out


def _notes(r: Result) -> list[str]:
    plan = r.plan
    assert plan is not None
    notes = [f"{f.service + ': ' if f.service else ''}{f.message} ({f.rule})" for f in r.notes]
    notes += list(plan.project.notes) + list(plan.notes)
    for svc, why in plan.assumed.items():
        notes.append(f"{svc}: {why}: keeps access to the data stores")
    for fe in r.edits:
        notes += [f"{display_path(fe.file.path)}: {n}" for n in fe.notes]
    if not notes:
        return []
    return ["#### Not verified, and other notes", ""] + [f"- {md(n)}" for n in notes] + [""]


def _opt_out() -> list[str]:
    return [
        "### How to opt out",
        "",
        "- Acknowledge a finding, with the reason, on the service (or at the top level for the whole file):",
        "  `x-compose-harden: {accept: {data-published-port: \"bound to 127.0.0.1 for backups\"}}`."
        " Acknowledging a rule the tool would fix leaves that service as it is.",
        "- Keep `network_mode: host` with a reason: `network_mode: host  # compose-harden: allow host-network -- <reason>`.",
        "- Correct a guess: `x-compose-harden: {tier: data, talks-to: [db], egress: true}` on the service.",
        "- For the whole repository, `.compose-harden.yaml` (or `[tool.compose-harden]` in `pyproject.toml`):"
        " `ignore`, `select`, `exclude`, `accept`, the names of the networks, the tiers of your own images.",
        "",
    ]


def _reproduce(command: str) -> list[str]:
    return ["### Reproduce", "", fence(f"pip install 'compose-hardener=={__version__}'\n{command}\n", "sh")]


# --- the topology picture --------------------------------------------------------------------


def _label(text: str) -> str:
    """Text for a Mermaid label in double quotes (entity codes for what would end or break it)."""
    text = escape(text)
    return (text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;"))


def topology(plan: Plan, when: str) -> str:
    """A Mermaid flowchart: one subgraph per network, one node per service. A service on one
    network sits inside it; a service on several sits outside and is linked to each; a service
    sharing another's network namespace is linked to it with a dotted line."""
    defs: dict[str, Any] = plan.project.networks if when == "before" else plan.final_networks()
    services = list(plan.services)
    sid = {name: f"s{i}" for i, name in enumerate(services)}
    member: dict[str, tuple[str, list[str]]] = {n: _membership(plan.services[n], when) for n in services}
    nets: dict[str, None] = {}  # in order of first appearance
    alone: dict[str, list[str]] = {}  # network -> the services on it alone, in order
    for s in services:
        on = _nets_of(member[s])
        nets.update(dict.fromkeys(on))
        if len(on) == 1:
            alone.setdefault(on[0], []).append(s)
    nid = {n: f"n{i}" for i, n in enumerate(nets)}
    lines = ["graph LR"]
    placed: dict[str, str] = {}
    for n in nets:
        inside = alone.get(n, [])
        if n == "<host>":
            label = "host network (network_mode: host)"
        elif n == "<bridge>":
            label = "legacy bridge (network_mode: bridge)"
        else:
            label = n + (" (internal)" if _internal(defs, n) else "") + (" (external)" if _external(defs, n) else "")
        lines.append(f'  subgraph {nid[n]}["{_label(label)}"]')
        for s in inside:
            lines.append(f'    {sid[s]}["{_label(_node_label(plan, s))}"]')
            placed[s] = n
        lines.append("  end")
    for s in services:
        if s not in placed:
            lines.append(f'  {sid[s]}["{_label(_node_label(plan, s))}"]')
    for s in services:
        kind, names = member[s]
        if s not in placed and kind in ("nets",):
            for n in names:
                lines.append(f"  {sid[s]} --- {nid[n]}")
        if kind == "namespace" and names[0] in sid:
            lines.append(f"  {sid[s]} -. shares network namespace .- {sid[names[0]]}")
    for n in nets:
        if n not in ("<host>", "<bridge>") and _internal(defs, n):
            lines.append(f"  style {nid[n]} stroke-dasharray: 5 5")
    return "\n".join(lines) + "\n"


def _nets_of(m: tuple[str, list[str]]) -> list[str]:
    kind, names = m
    if kind == "host":
        return ["<host>"]
    if kind == "bridge":
        return ["<bridge>"]
    return names if kind == "nets" else []


def _node_label(plan: Plan, name: str) -> str:
    return f"{name} ({plan.services[name].tier.tier})"
