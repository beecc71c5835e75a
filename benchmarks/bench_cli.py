#!/usr/bin/env python3
"""Time the compose-harden CLI end to end (process start to exit) on the real-world corpus.

Measured, each N times after 2 warm-ups:

  corpus --diff   all compose files of CORPUS/SOURCES.tsv in ONE process: compose-harden --diff -q F1 F2 ...
  corpus --check  the same files with --check
  one file --diff the largest corpus compose file (or --file PATH)
  --version       interpreter + imports + click start-up: the floor under every other figure
  python -c pass  the bare interpreter start-up of the CLI's Python, for scale

Reported: min / median / max wall seconds, median user+sys CPU seconds and the maximum RSS of
the child (from os.wait4), with PASS/MISS against the targets (median wall time):
corpus --diff < 0.5 s, one file < 0.1 s. This is a report, not a test: it always exits 0.

Against compose-lint (``pip install '.[bench]'``, or --compose-lint PATH; skipped when it is not
installed): the corpus in one process and one 10-service file (benchmarks/shapes.py, shape
mixed), each run as a pair -- compose-harden, then compose-lint, in turn, --runs times -- and the
CPU ratio taken pair by pair (median quoted), so that a drift of the machine's speed hits both
sides alike. Targets: corpus <= 0.25x, one 10-service file <= 0.6x compose-lint's CPU.

Standard library only. Run:  python benchmarks/bench_cli.py [--runs 11] [--corpus DIR] [--file F] [--json OUT]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _measure import PROJECT_ROOT, cli_interpreter, environment, find_cli, fmt_s, measure, print_environment, run_once, write_json  # noqa: E402
from shapes import SHAPES  # noqa: E402

TARGETS = {"corpus --diff": 0.5, "one file --diff": 0.1}
PEER_TARGETS = {"corpus": 0.25, "10-service file": 0.6}  # CPU of compose-harden / compose-lint, median of pairs


def paired(name: str, a: list[str], b: list[str], runs: int, warmups: int, cwd: str | None) -> dict:
    """A and B in turn (A B A B ...), the CPU ratio A/B taken pair by pair."""
    pairs = []
    for i in range(warmups + runs):
        ra, _ = run_once(a, cwd)
        rb, _ = run_once(b, cwd)
        if i >= warmups:
            pairs.append((ra.cpu, rb.cpu))
    ratios = [x / y for x, y in pairs if y > 0]
    return {"name": name, "a_cpu_median": statistics.median(x for x, _ in pairs),
            "b_cpu_median": statistics.median(y for _, y in pairs),
            "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
            "target": PEER_TARGETS[name]}
WARMUPS = 2


def corpus_files(corpus: str) -> list[str]:
    """Compose files listed in SOURCES.tsv, as paths relative to the corpus directory."""
    files = []
    with open(os.path.join(corpus, "SOURCES.tsv"), encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            cols = line.rstrip("\n").split("\t")
            if n == 0 and cols[0] == "repository":
                continue
            if len(cols) >= 4 and cols[3] == "compose":
                files.append(os.path.join(cols[0].replace("/", "+", 1), cols[2]))
    missing = [f for f in files if not os.path.isfile(os.path.join(corpus, f))]
    if missing:
        sys.exit(f"bench_cli: {len(missing)} corpus files missing, e.g. {missing[0]}")
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.path.join(PROJECT_ROOT, "..", "shared", "corpus"), help="corpus directory with SOURCES.tsv (default: ../shared/corpus from the project root)")
    ap.add_argument("--file", help="the single file to time (default: the largest corpus compose file by bytes)")
    ap.add_argument("--runs", type=int, default=11, help="measured runs per command (default 11), after %d warm-ups" % WARMUPS)
    ap.add_argument("--no-version", action="store_true", help="skip the --version and python -c pass start-up floors")
    ap.add_argument("--print-argv", action="store_true", help="print the full argument list of the corpus commands")
    ap.add_argument("--json", metavar="OUT", help="also write the figures as JSON to OUT")
    ap.add_argument("--compose-lint", metavar="PATH", default=shutil.which("compose-lint"),
                    help="compose-lint to compare against (default: the one on PATH; none: no comparison)")
    ap.add_argument("--no-peer", action="store_true", help="skip the comparison with compose-lint")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be >= 1")

    corpus = os.path.realpath(args.corpus)
    files = corpus_files(corpus)
    cli = find_cli()
    if args.file:
        one_file, one_cwd = os.path.abspath(args.file), None
    else:
        one_file = max(files, key=lambda f: (os.path.getsize(os.path.join(corpus, f)), f))
        one_cwd = corpus
    one_size = os.path.getsize(one_file if one_cwd is None else os.path.join(corpus, one_file))
    corpus_bytes = sum(os.path.getsize(os.path.join(corpus, f)) for f in files)

    env = environment(cli)
    print("== compose-harden CLI benchmark ==")
    print_environment(env)
    print(f"Corpus:         {corpus}: {len(files)} compose files, {corpus_bytes:,} bytes")
    print(f"Runs:           {args.runs} measured after {WARMUPS} warm-ups; stdout to /dev/null; wall = spawn to reap")
    print()

    cases = [
        ("corpus --diff", cli + ["--diff", "-q"] + files, corpus),
        ("corpus --check", cli + ["--check", "-q"] + files, corpus),
        ("one file --diff", cli + ["--diff", "-q", one_file], one_cwd),
    ]
    if not args.no_version:
        cases.append(("--version (floor)", cli + ["--version"], None))
        cases.append(("python -c pass", [cli_interpreter(cli), "-c", "pass"], None))

    awk = "$(awk -F'\\t' '$4==\"compose\"{sub(\"/\",\"+\",$1); print $1\"/\"$3}' SOURCES.tsv)"
    exe = " ".join(shlex.quote(c) for c in cli)
    print("Commands measured:")
    for name, argv, cwd in cases:
        if name.startswith("corpus"):
            mode = argv[len(cli)]
            shown = f"cd {shlex.quote(cwd)} && {exe} {mode} -q {awk}   # {len(files)} files"
            if args.print_argv:
                shown += "\n      argv: " + shlex.join(argv[len(cli):])
        else:
            shown = (f"cd {shlex.quote(cwd)} && " if cwd else "") + shlex.join(argv) + (f"   # {one_size:,} bytes" if name.startswith("one") else "")
        print(f"  {name:<18} {shown}")
    print()

    results = []
    for name, argv, cwd in cases:
        print(f"  running {name} ...", file=sys.stderr, flush=True)
        results.append(measure(name, argv, args.runs, WARMUPS, cwd))

    header = f"{'command':<18} {'min s':>7} {'median s':>9} {'max s':>7} {'cpu s':>7} {'maxRSS MiB':>11}  {'exit':>5}  target"
    print(header)
    print("-" * len(header))
    figures = []
    for m in results:
        target = TARGETS.get(m.name)
        verdict = ""
        if target is not None:
            verdict = f"{'PASS' if m.wall_median < target else 'MISS'} (< {target} s)"
        statuses = ",".join(str(s) for s in sorted(set(m.statuses)))
        print(f"{m.name:<18} {fmt_s(m.wall_min):>7} {fmt_s(m.wall_median):>9} {fmt_s(m.wall_max):>7} "
              f"{fmt_s(m.cpu_median):>7} {m.maxrss_kib / 1024:>11.1f}  {statuses:>5}  {verdict}")
        fig = m.summary()
        fig["cwd"] = next(cwd for name, _, cwd in cases if name == m.name)
        fig["target_s"] = target
        fig["target_met"] = None if target is None else m.wall_median < target
        figures.append(fig)
    print()
    floor = next((m for m in results if m.name.startswith("--version")), None)
    if floor is not None:
        for m in results:
            if m.name.startswith("corpus") or m.name.startswith("one"):
                print(f"{m.name:<18} median above the --version floor: {m.wall_median - floor.wall_median:.3f} s")
        print()
    print("exit: 0 nothing to change, 1 changes pending or findings; 2 = a file could not be processed")
    for m in results:
        if m.failed:
            print(f"WARNING: {m.name} exited with {sorted(set(m.statuses))}; stderr (tail):\n{m.stderr_sample}")

    peers = []
    if args.compose_lint and not args.no_peer:
        lint = [args.compose_lint]
        with tempfile.TemporaryDirectory(prefix="bench-cli-") as ten:
            SHAPES["mixed"](10).write(ten)
            print()
            print(f"Against compose-lint ({args.compose_lint}), CPU (user+sys) in pairs, {args.runs} pairs after {WARMUPS} warm-ups:")
            print(f"  corpus           cd {shlex.quote(corpus)} && {exe} --diff -q FILES  vs  compose-lint FILES")
            print(f"  10-service file  {exe} --diff -q compose.yaml  vs  compose-lint compose.yaml  (shapes.py mixed, 10 services)")
            print("  running the pairs ...", file=sys.stderr, flush=True)
            peers.append(paired("corpus", cli + ["--diff", "-q"] + files, lint + files, args.runs, WARMUPS, corpus))
            peers.append(paired("10-service file", cli + ["--diff", "-q", "compose.yaml"], lint + ["compose.yaml"],
                                args.runs, WARMUPS, ten))
        print(f"  {'case':<16} {'harden cpu s':>12} {'lint cpu s':>10} {'ratio min':>9} {'median':>7} {'max':>7}  target")
        for r in peers:
            ok = "PASS" if r["ratio_median"] <= r["target"] else "MISS"
            print(f"  {r['name']:<16} {r['a_cpu_median']:>12.3f} {r['b_cpu_median']:>10.3f} {r['ratio_min']:>9.3f} "
                  f"{r['ratio_median']:>7.3f} {r['ratio_max']:>7.3f}  {ok} (<= {r['target']}x)")
    elif not args.no_peer:
        print()
        print("compose-lint is not installed (pip install '.[bench]'): no comparison")

    if args.json:
        out = {
            "compose_lint": peers,
            "benchmark": "bench_cli",
            "environment": env,
            "corpus": {"path": corpus, "files": len(files), "bytes": corpus_bytes},
            "one_file": {"path": one_file, "bytes": one_size},
            "runs": args.runs,
            "warmups": WARMUPS,
            "results": figures,
        }
        write_json(args.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
