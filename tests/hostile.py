"""Files under --max-size (10 MiB) built to cost as much as possible: generated, never committed.

Each function returns the bytes of one compose file. ``SHAPES`` lists them with what the tool must
do with each: "refuse" (with a message naming the limit that was hit) or "process" (harden it, or
find nothing to change). tests/test_bad_input.py checks the behaviour; benchmarks/bench_hostile.py
measures CPU time and peak memory of each against the bounds (10 s, 1 GiB).
"""

from __future__ import annotations

TARGET = 9_800_000  # bytes: just under the 10 MiB default of --max-size


def _fill(head: str, item, tail: str = "", target: int = TARGET) -> bytes:
    parts = [head]
    size = len(head) + len(tail)
    i = 0
    while True:
        s = item(i)
        if size + len(s) > target:
            break
        parts.append(s)
        size += len(s)
        i += 1
    parts.append(tail)
    return "".join(parts).encode()


def flow_list(target: int = TARGET) -> bytes:
    """One flow sequence of single-letter items: some 4.9 million nodes, no alias."""
    return _fill("services:\n  web:\n    image: nginx\n    command: [a", lambda i: ",a", "]\n", target)


def block_mapping(target: int = TARGET) -> bytes:
    """One label mapping with hundreds of thousands of entries."""
    return _fill("services:\n  web:\n    image: nginx\n    labels:\n", lambda i: f"      k{i}: v\n", "", target)


def labels(entries: int) -> bytes:
    """One label mapping of ``entries`` entries (two nodes each)."""
    body = "".join(f"      k{i}: v\n" for i in range(entries))
    return f"services:\n  web:\n    image: nginx\n    depends_on: [db]\n    labels:\n{body}  db:\n    image: postgres:16\n".encode()


def many_services(target: int = TARGET) -> bytes:
    """Alias-free services, as many as fit: over 100,000."""
    return _fill(
        "services:\n",
        lambda i: f"  s{i}:\n    image: nginx\n    labels:\n      a: b\n    environment:\n      X: y\n",
        "",
        target,
    )


def services(n: int) -> bytes:
    """``n`` services in chains edge -> app -> data store, every one of them changed."""
    out = ["services:\n"]
    for i in range(n):
        k = i % 3
        if k == 0:
            dep = f"    depends_on: [app{i + 1}]\n" if i + 1 < n else ""
            out.append(f"  web{i}:\n    image: nginx\n    ports: ['{8000 + i}:80']\n{dep}")
        elif k == 1:
            out.append(f"  app{i}:\n    image: example/app\n    environment:\n      DB: db{i + 1}\n")
        else:
            out.append(f"  db{i}:\n    image: postgres:16\n")
    return "".join(out).encode()


def merged_anchor(services_: int, keys: int) -> bytes:
    """``services_`` services merging one anchor of ``keys`` environment variables (linear growth)."""
    env = "".join(f"    V{j}: value{j}\n" for j in range(keys))
    out = [f"x-base: &base\n  image: nginx\n  restart: always\n  environment:\n{env}services:\n"]
    out.extend(f"  s{i}:\n    <<: *base\n" for i in range(services_))
    return "".join(out).encode()


def aliased_block(entries: int, uses: int) -> bytes:
    """One big anchored mapping used ``uses`` times with an alias (linear growth)."""
    labels = "".join(f"    k{j}: v\n" for j in range(entries))
    out = [f"x-labels: &labels\n{labels}services:\n"]
    out.extend(f"  s{i}:\n    image: nginx\n    labels: *labels\n" for i in range(uses))
    return "".join(out).encode()


def long_scalar(target: int = TARGET) -> bytes:
    """A few services, one of them with a command string of nearly 10 MB naming the others."""
    head = "services:\n  db:\n    image: postgres:16\n  web:\n    image: nginx\n    command: \""
    return _fill(head, lambda i: "connect db:5432 " if i % 1000 == 0 else "xxxxxxxxxxxxxxx ", "\"\n", target)


def comments(target: int = TARGET) -> bytes:
    """A small stack under nearly 10 MB of comment lines."""
    head = "services:\n  web:\n    image: nginx\n    depends_on: [db]\n  db:\n    image: postgres:16\n"
    return _fill(head, lambda i: f"# comment line {i} " + "-" * 60 + "\n", "", target)


def dense_dependencies(n: int) -> bytes:
    """``n`` services, each depending on every other one through its environment: n*n pairs."""
    names = [f"s{i}" for i in range(n)]
    out = ["services:\n  db:\n    image: postgres:16\n"]
    hosts = " ".join(f"{h}:80" for h in names)
    for name in names:
        out.append(f"  {name}:\n    image: example/app\n    environment:\n      PEERS: \"db:5432 {hosts}\"\n")
    return "".join(out).encode()


def alias_bomb(levels: int = 9, width: int = 9) -> bytes:
    lines = ["x-a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"x-a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    lines.append(f"services:\n  web:\n    image: nginx\n    command: *a{levels}")
    return ("\n".join(lines) + "\n").encode()


# (id, generator, expected outcome, words the refusal must contain)
SHAPES = [
    ("flow-list-9.8MB", flow_list, "refuse", ["250,000 YAML nodes", "resource limit"]),
    ("block-mapping-9.8MB", block_mapping, "refuse", ["250,000 YAML nodes", "resource limit"]),
    ("many-services-9.8MB", many_services, "refuse", ["250,000 YAML nodes", "resource limit"]),
    ("services-1000-all-changed", lambda: services(1_000), "process", []),
    ("services-10001", lambda: services(10_001), "refuse", ["10,001 services", "10,000", "resource limit"]),
    ("labels-just-under-the-node-limit", lambda: labels(124_900), "process", []),
    ("merge-50000-services-one-small-anchor", lambda: merged_anchor(50_000, 4), "refuse",
     ["expand", "150,0", "250,000", "resource limit"]),
    ("merge-5000-services-anchor-of-18-keys", lambda: merged_anchor(5_000, 18), "process", []),
    ("alias-of-a-20000-entry-mapping-used-5-times", lambda: aliased_block(20_000, 5), "process", []),
    ("alias-of-a-20000-entry-mapping-used-10-times", lambda: aliased_block(20_000, 10), "refuse",
     ["expand", "250,000", "resource limit"]),
    ("long-scalar-9.8MB", long_scalar, "process", []),
    ("comments-9.8MB", comments, "process", []),
    ("dense-dependencies-40", lambda: dense_dependencies(40), "process", []),
    ("alias-bomb", alias_bomb, "refuse", ["expand", "resource limit"]),
    ("dense-dependencies-600", lambda: dense_dependencies(600), "refuse", ["200,000 dependencies", "resource limit"]),
]

# Measured by benchmarks/bench_hostile.py only (too slow for the test suite): shapes whose cost is
# not in the parser but in the planner and the analysis -- the most services a project may have,
# and the number of dependencies the analysis finds (every service naming every other: 1.2
# million pairs from a 9.7 MB file; refused past 200,000), which the node limit does not bound.
BENCH_ONLY = [
    ("services-10000-all-changed", lambda: services(10_000), "process", []),
    ("services-2000-all-changed", lambda: services(2_000), "process", []),
    ("dense-dependencies-150", lambda: dense_dependencies(150), "process", []),
    ("dense-dependencies-1100", lambda: dense_dependencies(1100), "refuse", ["200,000 dependencies", "resource limit"]),
]
