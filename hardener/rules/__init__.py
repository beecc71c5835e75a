"""The rules: every finding and every fix the tool reports has one.

One module per rule (the shape yamllint and pyupgrade use). Each module defines::

    ID        the rule id users see, select, ignore and acknowledge ("host-network")
    TITLE     one line
    SEVERITY  "error" | "warning" | "note" (SARIF levels)
    FIX       "yes" (the tool fixes it), "no" (a human must act) or "sometimes"
    KEY       optional: the service key a finding points at (SARIF locations), e.g. "network_mode"

and its docstring is the rule's user documentation (``--explain``, SARIF help, the README table).
This module registers them in one place; the summary, SARIF, ``--explain``, configuration
validation and the README's rule table read :data:`RULES`, so a new rule is one new module here
and one line in ``_MODULES``.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

_MODULES = (
    "flat_network",
    "legacy_bridge",
    "host_network",
    "host_network_required",
    "host_network_reason",
    "host_network_localhost",
    "host_ports_unknown",
    "host_port_conflict",
    "data_egress",
    "data_published_port",
    "data_in_shared_namespace",
    "edge_shares_data",
    "traefik_network",
    "dependency_cut",
    "cannot_edit",
    "unresolved_network",
    "host_network_client",
    "proxy_routing_unknown",
    "proxy_outside_project",
    "egress_gateway",
    "egress_bypass_edge",
    "egress_non_http",
    "egress_forward_proxy",
    "egress_proxy_preset",
    "egress_java_proxy",
    "egress_node_env_proxy",
    "egress_unroutable",
)

from hardener.record import record

SEVERITIES = ("error", "warning", "note")
FIXES = ("yes", "no", "sometimes")
FIX_TEXT = {"yes": "yes", "no": "no, a human must act", "sometimes": "sometimes (reported when it cannot be)"}


# Where the documentation lives: the README has one section per rule, anchored by its id.
DOCS_URL = "https://github.com/compose-harden/compose-harden/blob/main/README.md"


@record(frozen=True)
class Rule:
    """A rule: its id, title, severity, whether the tool fixes it, and its documentation."""

    id: str
    title: str
    severity: str
    fix: str
    doc: str
    module: str
    key: str | None = None

    @property
    def summary(self) -> str:
        """The first paragraph of the documentation."""
        return self.doc.strip().split("\n\n", 1)[0].replace("\n", " ")

    @property
    def help_uri(self) -> str:
        return f"{DOCS_URL}#{self.id}"

    @property
    def doc_markdown(self) -> str:
        """The documentation as Markdown (``code`` -> `code`, ``::`` blocks -> fenced YAML)."""
        return rst_to_markdown(self.doc)


def rst_to_markdown(text: str) -> str:
    out: list[str] = []
    lines = text.strip("\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            head = line.rstrip()[:-2].rstrip()
            out.append((head + ":") if head else "")
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                block.append(lines[i])
                i += 1
            while block and not block[0].strip():
                block.pop(0)
            while block and not block[-1].strip():
                block.pop()
            indent = min((len(b) - len(b.lstrip()) for b in block if b.strip()), default=0)
            out += ["", "```yaml"] + [b[indent:] for b in block] + ["```", ""]
            continue
        out.append(line.replace("``", "`"))
        i += 1
    return "\n".join(out).strip("\n")


def _load(name: str) -> Rule:
    mod = importlib.import_module(f"hardener.rules.{name}")
    rule = Rule(mod.ID, mod.TITLE, mod.SEVERITY, mod.FIX, (mod.__doc__ or "").strip(), name, getattr(mod, "KEY", None))
    if rule.severity not in SEVERITIES or rule.fix not in FIXES or rule.id.replace("-", "_") != name:
        raise ValueError(f"hardener.rules.{name}: malformed rule")
    return rule


_LOADED: dict[str, Rule] = {}


@lru_cache(maxsize=None)
def registry() -> dict[str, Rule]:
    """Rule id -> Rule, in the order of ``_MODULES`` (imported on first use)."""
    return {r.id: r for r in (get(m.replace("_", "-")) for m in _MODULES)}


def get(rule_id: str) -> Rule:
    """One rule, importing only its own module: a run reports a few of the rules."""
    rule = _LOADED.get(rule_id)
    if rule is None:
        name = rule_id.replace("-", "_") if isinstance(rule_id, str) else ""
        if name not in _MODULES or "_" in rule_id:
            raise KeyError(f"unknown rule id {rule_id!r}")
        rule = _LOADED[rule_id] = _load(name)
    return rule
