"""Check the edited text before anything is written.

1. Every edited file re-parses, and its data equals the original everywhere except the top-level
   ``networks`` and the ``networks`` / ``network_mode`` / ``ports`` of services the plan changed
   (and of anchors the editor edited for them). Plain equality decides; DeepDiff, imported only
   when there is a difference to explain, says exactly what differed.
2. The merged project read back from the edited files has exactly the planned values.
3. That project is safe (:mod:`hardener.safety`): every dependency that shared a network still
   does, every service that needs a way out keeps one, no published port ends up unpublishable.

Any failure is a bug in the tool: the project is refused and no file is touched.
"""

from __future__ import annotations

from typing import Any

from hardener import safety
from hardener.compose import ComposeFile, as_mapping, build_project, parse_source, untag
from hardener.edit import FileEdit
from hardener.errors import InputError, ParserLimit, VerifyError
from hardener.plan import ABSENT, NETWORK_KEYS, Plan
from hardener.plan.gateway import ALL_PROXY_KEYS
from hardener.plan.model import GatewayPlan
from hardener.record import replace
from hardener.source import Source


def _masked(data: Any, services: set[str], anchors: set[str], gateway: GatewayPlan | None = None) -> Any:
    """The data the tool may not change: everything but the top-level networks, the network keys
    (and, with the egress gateway, the proxy variables) of the services it changes and of the
    anchors it edited for them, and the gateway's own service and configuration."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    out.pop("networks", None)
    svcs = untag(out.get("services"))
    if isinstance(svcs, dict):
        svcs = dict(svcs)
        for name in services:
            s = untag(svcs.get(name))
            if isinstance(s, dict):
                svcs[name] = _strip_service(s)
        if gateway is not None:
            svcs.pop(gateway.service, None)
        out["services"] = svcs
    if gateway is not None:
        configs = untag(out.get("configs"))
        if isinstance(configs, dict):
            configs = {k: v for k, v in configs.items() if k != gateway.config}
            if configs:
                out["configs"] = configs
            else:
                out.pop("configs")
    for key in anchors:
        v = out.get(key)
        if isinstance(v, dict):
            out[key] = _strip_network_keys(v)
    return out


def _strip_service(s: dict) -> dict:
    out = {k: v for k, v in s.items() if k not in NETWORK_KEYS}
    if "environment" in out:
        env = _strip_proxy_env(untag(out["environment"]))
        if env in ({}, []) and not untag(s["environment"]) in ({}, []):
            out.pop("environment")
        else:
            out["environment"] = env
    return out


def _strip_proxy_env(env: Any) -> Any:
    if isinstance(env, dict):
        return {k: v for k, v in env.items() if k not in ALL_PROXY_KEYS}
    if isinstance(env, list):
        return [x for x in env if not (isinstance(untag(x), str) and untag(x).split("=", 1)[0] in ALL_PROXY_KEYS)]
    return env


def _strip_network_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_network_keys(v) if k != "environment" else _strip_proxy_env(untag(v))
                for k, v in value.items() if k not in NETWORK_KEYS and k not in ALL_PROXY_KEYS}
    return value


def explain(before: Any, after: Any, limit: int = 6) -> str:
    from deepdiff import DeepDiff  # imported only when there is something to explain

    diff = DeepDiff(before, after, verbose_level=2)
    parts: list[str] = []
    for kind, items in diff.items():
        if isinstance(items, dict):
            for path, change in items.items():
                parts.append(f"{kind.replace('_', ' ')} at {path}: {change}")
        else:
            for path in items:
                parts.append(f"{kind.replace('_', ' ')} at {path}")
    if not parts:
        return "the data differs"
    more = f" (+{len(parts) - limit} more)" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more


def _norm_networks(value: Any) -> Any:
    """Networks in a form where list/mapping order does not matter (Compose merges them anyway)."""
    value = untag(value)
    if value is ABSENT or value is None:
        return value
    if isinstance(value, list):
        return {str(untag(v)): None for v in value}
    if isinstance(value, dict):
        return {str(k): (untag(v) or None) for k, v in value.items()}
    return value


def verify(plan: Plan, edits: list[FileEdit], max_bytes: int) -> dict[str, ComposeFile]:
    """Re-parse every edited file and check it says exactly what the plan says."""
    if not plan.changed and not any(fe.changed for fe in edits) and plan.gateway is None:
        return {}  # nothing planned, nothing edited, no gateway to check: the files are what was analysed
    changed_services = {sp.name for sp in plan.changed_services()}
    reparsed: dict[str, ComposeFile] = {}
    for fe in edits:
        if not fe.changed:
            continue
        cf = fe.file
        source: Source = replace(cf.source, text=fe.new_text)
        try:
            new = parse_source(source, measured=True)
        except ParserLimit as exc:
            raise VerifyError(cf.path, f"cannot apply the fix: the edited file is too large to check ({exc.message}); "
                              "file left untouched", exc.line, exc.column) from None
        except InputError as exc:
            raise VerifyError(cf.path, f"internal error: the edited file does not parse ({exc.message}); file left untouched", exc.line, exc.column) from None
        before = _masked(cf.data, changed_services, fe.touched_anchors, plan.gateway)
        after = _masked(new.data, changed_services, fe.touched_anchors, plan.gateway)
        if before != after:
            raise VerifyError(cf.path, "internal error: the edit changed data outside network keys: "
                              + explain(before, after) + "; file left untouched")
        reparsed[cf.path] = new
    files = [reparsed.get(cf.path, cf) for cf in plan.project.files]
    project = build_project(files, max_bytes, env=plan.project.env, extra=plan.project.extra_files)
    for sp in plan.services.values():  # every service: an edit must not reach one it did not plan for
        svc = project.services.get(sp.name)
        if svc is None:
            raise VerifyError(files[0].path, f"internal error: service {sp.name} lost by the edit")
        for key in NETWORK_KEYS:
            got = untag(svc.data[key]) if key in svc.data else ABSENT
            want = sp.after.get(key, ABSENT)
            if key == "networks":
                got, want = _norm_networks(got), _norm_networks(want)
            if got != want and not (got is ABSENT and want is ABSENT):
                raise VerifyError(
                    files[0].path,
                    f"internal error: {sp.name}.{key} is {got!r} after the edit, the plan says {want!r}; file left untouched",
                )
        if sp.env_set:
            env = as_mapping(svc.data.get("environment"))
            wrong = [k for k, v in sp.env_set.items() if env.get(k) != v]
            if wrong:
                raise VerifyError(files[0].path, f"internal error: {sp.name}.environment.{wrong[0]} is "
                                  f"{env.get(wrong[0])!r} after the edit, the plan says {sp.env_set[wrong[0]]!r}")
    if plan.gateway is not None:
        _check_gateway(plan, project, files[0].path)
    problems = safety.check(plan.project, project, plan.analysis, plan.gateway)
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        raise VerifyError(files[0].path, "internal error: the edited files would break the stack: "
                          + "; ".join(problems[:3]) + more + "; nothing written")
    # a network defined as "name:" (null) and as "name: {}" is the same network
    want_nets = {k: untag(v) or {} for k, v in plan.final_networks().items()}
    got_nets = {k: untag(v) or {} for k, v in project.networks.items()}
    if want_nets != got_nets:
        raise VerifyError(files[0].path, "internal error: top-level networks differ from the plan: "
                          + explain(want_nets, got_nets))
    return reparsed


def _check_gateway(plan: Plan, project: Any, path: str) -> None:
    g = plan.gateway
    svc = project.services.get(g.service)
    if svc is None:
        raise VerifyError(path, f"internal error: the egress gateway {g.service} is missing after the edit")
    # its networks as the safety check reads them ("${EGRESS_NET:-egress}" is network egress)
    nets = safety.placements(project)[g.service].nets
    if set(g.networks) - nets:
        raise VerifyError(path, f"internal error: the egress gateway is on {sorted(nets)}, the plan says {g.networks}")
    spec = untag(project.configs.get(g.config))
    content = untag(spec.get("content")) if isinstance(spec, dict) else None
    if not isinstance(content, str) or content.replace("$$", "$").rstrip("\n") != g.content.rstrip("\n"):
        raise VerifyError(path, f"internal error: configs.{g.config} does not hold the planned squid.conf")
