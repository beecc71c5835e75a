"""``_Builder.measure`` finishes a scalar where it enters it instead of round-tripping it through
its stack; the result is the direct walk's, to the refusal and its position.

The direct walk (every node entered, then finished from a marker on the stack) is written out
here and both are run on generated documents full of anchors, aliases, merge keys, nesting and
recursive aliases, with limits low enough that every refusal is reached."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hardener import yamlload
from hardener.errors import InputError


def direct_measure(b: yamlload._Builder, root) -> None:
    size: dict[int, int] = {}
    state: dict[int, int] = {}
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        nid = id(node)
        if depth < 0:
            total = 1
            for child in yamlload._children(node):
                total += size[id(child)]
                if total > b.limits.max_nodes:
                    break
            size[nid] = total
            state[nid] = 2
            continue
        if depth > b.limits.max_depth:
            raise b.fail(node, f"document nested deeper than {b.limits.max_depth} levels: refused")
        st_ = state.get(nid)
        b.seen[nid] = b.seen.get(nid, 0) + 1
        if st_ == 1:
            raise b.fail(node, "recursive alias (an anchor that contains itself): refused")
        if st_ == 2:
            b.alias_uses += 1
            if b.alias_uses > b.limits.max_alias_uses:
                raise b.fail(node, f"more than {b.limits.max_alias_uses} alias uses: refused")
            continue
        state[nid] = 1
        b.physical += 1
        stack.append((node, -depth - 1))
        for child in yamlload._children(node):
            if state.get(id(child)) == 1:
                raise b.fail(child, "recursive alias (an anchor that contains itself): refused")
            stack.append((child, depth + 1))
    b.expanded = size[id(root)]
    if b.expanded > b.limits.max_nodes:
        raise b.fail(root, f"aliases and merge keys expand the document's {b.physical:,} nodes to more than "
                           f"{b.limits.max_nodes:,}, the tool's resource limit: refused")


def _outcome(measure, root, text, limits):
    b = yamlload._Builder("c.yaml", text, limits)
    b.root = root
    try:
        measure(b, root)
        refusal = None
    except InputError as exc:
        refusal = (exc.message, exc.line, exc.column)
    return dict(b.seen), b.physical, b.expanded, b.alias_uses, refusal


VALUES = st.sampled_from(["*a", "*b", "*s", "v", "{<<: *a, r: *s}", "[*b, *b, 1]", "[[[[*a]]]]", "{}", "[]",
                          "{x: {y: {z: [*s, *a]}}}", "!t v", "*c"])
ENTRIES = st.lists(st.tuples(st.booleans(), VALUES), min_size=1, max_size=25)


@settings(max_examples=300, deadline=None)
@given(entries=ENTRIES, recursive=st.booleans(), nodes=st.integers(10, 200), uses=st.integers(1, 40),
       depth=st.integers(2, 8))
def test_measure_gives_the_direct_walks_result(entries, recursive, nodes, uses, depth):
    lines = ["x-a: &a {p: 1, q: [1, 2]}", "x-b: &b [*a, *a, 3]", "x-s: &s scalar"]
    lines.append("x-c: &c [1, *c]" if recursive else "x-c: &c [1, 2]")
    for i, (anchored, value) in enumerate(entries):
        lines.append(f"k{i}: " + (f"&n{i} " if anchored and not value.startswith("*") else "") + value)
    text = "\n".join(lines) + "\n"
    root = yamlload.compose_node("c.yaml", text)
    limits = yamlload.Limits(max_nodes=nodes, max_alias_uses=uses, max_depth=depth)
    assert _outcome(yamlload._Builder.measure, root, text, limits) == _outcome(direct_measure, root, text, limits)
