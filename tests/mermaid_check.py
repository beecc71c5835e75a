"""A structural check of the Mermaid flowcharts the Markdown report draws: the subset of
Mermaid syntax the report uses, parsed strictly (every line one known statement, subgraphs
balanced, every edge between declared ids)."""

import re

NODE = re.compile(r'^(?P<id>[A-Za-z][A-Za-z0-9_]*)\["(?P<label>[^"\n]*)"\]$')
SUBGRAPH = re.compile(r'^subgraph (?P<id>[A-Za-z][A-Za-z0-9_]*)\["(?P<label>[^"\n]*)"\]$')
EDGE = re.compile(r"^(?P<a>[A-Za-z][A-Za-z0-9_]*) (?P<op>---|-\.-|-\. [^.\n]+ \.-) (?P<b>[A-Za-z][A-Za-z0-9_]*)$")
STYLE = re.compile(r"^(?:style|classDef|class) \S+ \S.*$")


def blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", markdown, re.S)


def parse(block: str) -> dict:
    """{'nodes': {id: label}, 'subgraphs': {id: label}, 'members': {subgraph id: [node ids]},
    'edges': [(a, op, b)]}; raises AssertionError on anything outside the subset."""
    lines = [line.strip() for line in block.strip().split("\n")]
    assert lines[0] == "graph LR", lines[0]
    nodes: dict[str, str] = {}
    subgraphs: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    edges = []
    stack: list[str] = []
    for line in lines[1:]:
        if not line or line.startswith("%%"):
            continue
        if m := SUBGRAPH.match(line):
            assert m["id"] not in subgraphs and m["id"] not in nodes, f"duplicate id {m['id']}"
            subgraphs[m["id"]] = m["label"]
            members[m["id"]] = []
            stack.append(m["id"])
        elif line == "end":
            assert stack, "end without subgraph"
            stack.pop()
        elif m := NODE.match(line):
            assert m["id"] not in nodes and m["id"] not in subgraphs, f"node declared twice: {m['id']}"
            nodes[m["id"]] = m["label"]
            if stack:
                members[stack[-1]].append(m["id"])
        elif m := EDGE.match(line):
            edges.append((m["a"], m["op"], m["b"]))
        elif STYLE.match(line):
            continue
        else:
            raise AssertionError(f"not a statement of the subset: {line!r}")
    assert not stack, f"unclosed subgraph {stack}"
    for a, _, b in edges:
        assert a in nodes or a in subgraphs, a
        assert b in nodes or b in subgraphs, b
    for label in list(nodes.values()) + list(subgraphs.values()):
        assert not any(c in label for c in '"<>\x1b\n'), label
    return {"nodes": nodes, "subgraphs": subgraphs, "members": members, "edges": edges}
