"""Writing what the egress gateway needs: the proxy variables in the routed services'
``environment`` (in the file's own style), the gateway service, and its inline configuration.

Variables go where the service's environment is written: its own mapping or list, or -- when the
service merges an anchor that holds them (``<<: *shared-env``) and every user of that anchor gets
the same change -- the anchor, once. An environment that only arrives through an anchor some
users of which are not routed cannot be changed for one of them: the service is left as it is
(the pipeline plans again without routing it).
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from hardener.compose import ComposeFile, Service, find_key, merge_sources
from hardener.edit import EditError, ProjectEditor, RouteError, _is_empty, _quote_of, block_lines
from hardener.plan import ServicePlan
from hardener.yamlload import MERGE_TAG, tag_of


def _env_style(ed: ProjectEditor) -> str:
    """How the files write environments: "list" when most services use ``- KEY=value``."""
    counts = {"list": 0, "mapping": 0}
    for cf in ed.project.files:
        for node in cf.service_nodes().values():
            loc = find_key(node, "environment")
            if loc is not None:
                counts["list" if isinstance(loc.value, SequenceNode) else "mapping"] += 1
    return "list" if counts["list"] > counts["mapping"] else "mapping"


def set_environment(ed: ProjectEditor, svc: Service, sp: ServicePlan) -> None:
    wanted = dict(sp.env_set)
    # the first file that defines the service: its networks change there, so it must carry the
    # variables too (a base file used without its override still goes out through the gateway)
    d = svc.defs[0]
    for later in svc.defs[1:]:
        env = find_key(later.node, "environment")
        names = [str(k.value) for k, _ in env.value.value] if env is not None and isinstance(env.value, MappingNode) \
            else [str(i.value).split("=", 1)[0] for i in env.value.value] if env is not None and isinstance(env.value, SequenceNode) else []
        clash = [k for k in wanted if k in names]
        if clash:
            raise RouteError(f"{later.file.path} sets {clash[0]} for {svc.name} too: set the proxy variables there by hand")
    loc = find_key(d.node, "environment")
    if loc is None:
        fe = ed.editor(d.file)
        if _env_style(ed) == "list":
            fe.add_pair(d.node, "environment", [f"{k}={v}" for k, v in wanted.items()], quote_items=False)
        else:
            fe.add_pair(d.node, "environment", wanted)
        return
    fe = ed.editor(d.file)
    if loc.via_merge:
        raise RouteError(f"the environment of {svc.name} comes from an anchor through a merge key: "
                        "it cannot be changed for this service alone")
    if fe.is_alias(loc) or fe.shared(loc.value):
        if not _all_users_agree(ed, d.file, loc.value, sp):
            raise RouteError(f"the environment of {svc.name} is an anchor other services share")
        if id(loc.value) in ed.anchor_done:
            return
        ed.anchor_done.add(id(loc.value))
        ed.note_anchor(fe, loc.value)
    node = loc.value
    if isinstance(node, MappingNode):
        target = _anchor_to_edit(ed, d.file, node, sp) or node
        if target is not node:
            if id(target) in ed.anchor_done:
                return
            ed.anchor_done.add(id(target))
            fe.notes.append(f"proxy variables set in the anchor on line {fe.line(target) + 1} "
                            "(every service that merges it is routed)")
            ed.note_anchor(fe, target)
        _set_in_mapping(fe, target, wanted)
    elif isinstance(node, SequenceNode):
        _set_in_list(fe, node, wanted)
    elif _is_empty(node):
        fe.replace_pair(loc, "environment", wanted)
    else:
        raise RouteError(f"the environment of {svc.name} has an unexpected shape")


def _anchor_to_edit(ed: ProjectEditor, cf: ComposeFile, env: MappingNode, sp: ServicePlan) -> MappingNode | None:
    """The anchor an environment merges (``<<: *shared``) when every service using it -- directly
    or through its own environment -- is routed with the same variables."""
    sources = [src for k, v in env.value if k.value == "<<" and tag_of(k) == MERGE_TAG for src in merge_sources(v)]
    for src in sources:
        if not isinstance(src, MappingNode) or src.flow_style:
            continue
        users = _env_users(ed, cf, src)
        if users and all(ed.plan.services.get(u) is not None and ed.plan.services[u].env_set == sp.env_set for u in users):
            return src
    return None


def _env_users(ed: ProjectEditor, cf: ComposeFile, anchor: MappingNode) -> list[str]:
    users = []
    for name, node in cf.service_nodes().items():
        loc = find_key(node, "environment")
        if loc is None or not isinstance(loc.value, MappingNode):
            continue
        if loc.value is anchor or any(src is anchor for k, v in loc.value.value
                                      if k.value == "<<" and tag_of(k) == MERGE_TAG for src in merge_sources(v)):
            users.append(name)
    return users


def _all_users_agree(ed: ProjectEditor, cf: ComposeFile, node: Any, sp: ServicePlan) -> bool:
    users = [n for n, svc_node in cf.service_nodes().items()
             if (loc := find_key(svc_node, "environment")) is not None and loc.value is node]
    return all(ed.plan.services.get(u) is not None and ed.plan.services[u].env_set == sp.env_set for u in users)


def _set_in_mapping(fe, node: MappingNode, wanted: dict[str, str]) -> None:
    add: dict[str, str] = {}
    for key, value in wanted.items():
        own = next(((k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == key), None)
        if own is None:
            add[key] = value
        elif isinstance(own[1], ScalarNode):
            fe.set_scalar(own[1], value)
        else:
            raise RouteError(f"environment variable {key} has an unexpected shape")
    if add:
        if not node.value:
            raise RouteError("empty environment mapping")
        fe.edit_map_entries(node, [], add)


def _set_in_list(fe, node: SequenceNode, wanted: dict[str, str]) -> None:
    remove: list[int] = []
    for i, item in enumerate(node.value):
        if isinstance(item, ScalarNode) and str(item.value).split("=", 1)[0] in wanted:
            remove.append(i)
    items = [f"{k}={v}" for k, v in wanted.items()]
    if remove and node.flow_style:
        raise RouteError("cannot change variables in a flow-style environment list")
    fe.edit_list(node, remove, items, quote=bool(_quote_of(node)))


# --- the gateway service and its configuration ------------------------------------------------


def add_gateway(ed: ProjectEditor) -> None:
    g = ed.plan.gateway
    cf = ed.project.files[0]
    fe = ed.editor(cf)
    if not g.exists:
        services = find_key(cf.root, "services")
        if services is None or not isinstance(services.value, MappingNode) or not services.value.value:
            raise EditError("the first file has no services mapping to add the egress gateway to")
        fe.add_pair(services.value, g.service, g.definition(), blank_before=fe.blank_between(services.value))
    if not g.config_exists or g.content != ed.plan.current_gateway_content():
        _write_config(fe, cf, g.config, g.content)


def _write_config(fe, cf: ComposeFile, name: str, content: str) -> None:
    top = find_key(cf.root, "configs")
    if top is None:
        fe.add_top_level("configs", {name: {"content": content}})
        return
    if not isinstance(top.value, MappingNode) or top.value.flow_style:
        raise EditError("the top-level configs are not a block mapping: add the gateway's configuration by hand")
    entry = find_key(top.value, name)
    if entry is None:
        fe.edit_map_entries(top.value, [], {name: {"content": content}})
        return
    loc = find_key(entry.value, "content")
    if loc is None or not isinstance(loc.value, ScalarNode):
        raise EditError(f"configs.{name} is not an inline content config: update it by hand")
    fe.replace_pair(loc, "content", content)
