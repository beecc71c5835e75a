"""Which findings a project reports, and which of them are acknowledged.

A finding is acknowledged in the compose file::

    x-compose-harden:                 # top level: every service, and the findings about networks
      accept:
        edge-shares-data: "the proxy is the database's admin UI"
    services:
      db:
        x-compose-harden:
          accept:
            data-published-port: "only bound to 127.0.0.1 for backups"

or in the configuration (``accept:``, see :mod:`hardener.config`). A reason is required. An
acknowledged finding does not fail the run; it is listed as acknowledged (SARIF: a suppression
with the reason as justification).

Acknowledging (or ignoring) a rule the tool would *fix* on a service turns that fix off: the
service is left as it is (the planner keeps everyone else's reachability to it, as for any
service it cannot edit), and the finding is listed, acknowledged, instead of fixed. The one fix
this cannot turn off is making a network internal (``data-egress`` without a service): keep a
data store's way out with ``x-compose-harden: {egress: true}`` on it.
"""

from __future__ import annotations

from ruamel.yaml.nodes import MappingNode

from hardener.compose import ComposeFile, find_key
from hardener.config import Accept, Item, Settings, accepts, egress_settings, yaml_item
from hardener.errors import InputError
from hardener.plan import Finding

TOP_LEVEL_KEYS = ("accept", "egress", "egress-mode", "egress-allow", "egress-image")


def file_accepts(files: list[ComposeFile]) -> list[Accept]:
    """The acknowledgements written in the compose files themselves (checked: an unknown rule id
    or a missing reason refuses the file, with its line)."""
    out: list[Accept] = []
    for cf in files:
        def fail(item: Item, message: str, cf: ComposeFile = cf) -> InputError:
            return InputError(cf.path, f"x-compose-harden: {message}", item.line, item.column)

        top = find_key(cf.root, "x-compose-harden")
        if top is not None:
            block = yaml_item(top.value)
            if block.value is not None:
                if not isinstance(block.value, dict):
                    raise fail(block, "must be a mapping (accept: {rule-id: reason})")
                for key, (kitem, vitem) in block.value.items():
                    if key not in TOP_LEVEL_KEYS:
                        raise fail(kitem, f"unknown key '{key}' at the top level (known: {', '.join(TOP_LEVEL_KEYS)})")
                    if key == "accept":
                        out.extend(accepts(cf.path, vitem, fail, None, in_source=True))
                    else:
                        egress_settings(key, vitem, fail)  # checked here, read by the planner
        for name, node in cf.service_nodes().items():
            opts = find_key(node, "x-compose-harden")
            if opts is None or not isinstance(opts.value, MappingNode):
                continue
            acc = find_key(opts.value, "accept")
            if acc is not None:
                out.extend(accepts(cf.path, yaml_item(acc.value), fail, name, in_source=True))
    return out


def covering(accepted: list[Accept], rule: str, service: str | None) -> Accept | None:
    return next((a for a in accepted if a.covers(rule, service)), None)


def fixes_turned_off(findings: list[Finding], settings: Settings, accepted: list[Accept],
                     blocked: dict[str, str]) -> list[tuple[Finding, str]]:
    """Fixes on services that the configuration ignores or a finding acknowledges: (the fixed
    finding, why the service is left as it is)."""
    out: list[tuple[Finding, str]] = []
    for f in findings:
        if not f.fixed or not f.service or f.service in blocked:
            continue
        if not settings.enabled(f.rule):
            out.append((f, f"{f.rule} is turned off in {settings.path}"))
            continue
        acc = covering(accepted, f.rule, f.service)
        if acc is not None:
            out.append((f, f"{f.rule} is acknowledged ({acc.where}): {acc.reason}"))
    return out


def review(findings: list[Finding], settings: Settings, accepted: list[Accept],
           waived: dict[str, list[Finding]]) -> list[Finding]:
    """The findings as reported: those of rules turned off dropped, a fix turned off listed as
    a finding left as it is, and every finding a human need not act on acknowledged."""
    out: list[Finding] = []
    for f in findings:
        if f.rule == "cannot-edit" and f.service in waived and not f.fixed:
            continue  # it was left as it is on purpose: the waived fix says why
        out.append(f)
    for service, fixes in waived.items():
        for fix in fixes:
            if any(g.rule == fix.rule and g.service == service and not g.fixed for g in out):
                continue
            out.append(Finding(fix.rule, service, f"left as it is instead of fixed ({fix.message})", False))
    reported: list[Finding] = []
    for f in out:
        if not settings.enabled(f.rule):
            continue
        if not f.fixed:
            f.acknowledged = covering(accepted, f.rule, f.service)
        reported.append(f)
    return reported
