#!/usr/bin/env python3
"""How compose-harden's CPU time grows with the number of services, in several shapes of file.

For every shape of benchmarks/shapes.py (four-tier, anchors, flat-net, segmented, extends, build,
edge-data, long-chain, shared-nets, anchor-nets, merge-lists, dense-deps, mixed; --shapes to
choose) and every N in --sizes (default 500 1,000 2,000 4,000 8,000), a compose project with N
services is written to a temporary folder and ``compose-harden --diff -q compose.yaml`` is run
--runs times (default 3) after one warm-up; each run's CPU time (user + system, from os.wait4) is
taken and the median kept. The same shape at 20 services is the baseline: start-up and imports cost
the same at every N, so

    net CPU per service = (CPU(N) - CPU(20)) / (N - 20)

Linear growth keeps the net CPU per service flat. Reported per shape: CPU and net CPU per service
at each size, the growth of the net CPU per service per doubling of N, the CPU ratio per 4x the
services (500 -> 2,000, 2,000 -> 8,000) and a verdict: LINEAR when the net CPU per service grows
at most 1.3x per doubling and the CPU at most 4.5x per 4x the services (sizes whose net CPU is
below 0.05 s are too close to the baseline to judge and are left out of the verdict).

Before timing, each shape's smallest size is checked once: ``docker-compose config -q`` accepts
the generated file and the hardened one (--write on a copy), when docker-compose is on PATH.
This is a report, not a test: it always exits 0.

Run:  python benchmarks/bench_scale.py [--shapes four-tier anchors ...] [--sizes 500 1000 ...] [--runs 3]
      python benchmarks/bench_scale.py --emit four-tier 40 > compose.yaml   # print one generated file
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _measure import environment, find_cli, measure, print_environment, write_json  # noqa: E402
from shapes import SHAPES  # noqa: E402

SIZES = [500, 1000, 2000, 4000, 8000]
BASELINE = 20
WARMUPS = 1
PER_DOUBLING = 1.3  # net CPU per service may grow at most this much when N doubles
PER_QUADRUPLING = 4.5  # CPU may grow at most this much when N grows 4x
MIN_NET_S = 0.05  # below this much net CPU a size is too close to the baseline to judge


def docker_compose_ok(path: str) -> tuple[bool, str]:
    """``docker-compose -f FILE config -q``; its wrapper may exit 0 on errors, so stderr decides too."""
    proc = subprocess.run(["docker-compose", "-f", path, "config", "-q"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, cwd=os.path.dirname(path))
    msg = (proc.stderr or proc.stdout).strip()
    return proc.returncode == 0 and not proc.stderr.strip(), msg


def check_output(cli: list[str], path: str) -> list[str]:
    """The generated file and its hardened version (--write on a copy) pass docker-compose."""
    problems = []
    ok, msg = docker_compose_ok(path)
    if not ok:
        problems.append(f"docker-compose rejects {path}: {msg[-600:]}")
    copy = os.path.join(os.path.dirname(path), "hardened.yaml")
    shutil.copyfile(path, copy)
    proc = subprocess.run(cli + ["--write", "-q", copy], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode >= 2 or proc.returncode < 0:
        problems.append(f"--write exited {proc.returncode} on {path}: {proc.stderr[-600:]}")
    else:
        ok, msg = docker_compose_ok(copy)
        if not ok:
            problems.append(f"docker-compose rejects the hardened {path}: {msg[-600:]}")
    os.unlink(copy)
    return problems


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf")


def run_shape(name: str, sizes: list[int], cli: list[str], runs: int, warmups: int, workdir: str,
              validate: bool) -> dict:
    problems: list[str] = []
    rows = []
    for n in [BASELINE] + sizes:
        directory = os.path.join(workdir, f"{name}-{n}")
        os.makedirs(directory, exist_ok=True)
        path = SHAPES[name](n).write(directory)
        if validate and n == sizes[0]:
            problems += check_output(cli, path)
        print(f"  {name}: {n} services ...", file=sys.stderr, flush=True)
        m = measure(f"{name} {n}", cli + ["--diff", "-q", "compose.yaml"], runs, warmups, directory)
        if m.failed:
            problems.append(f"--diff exited {sorted(set(m.statuses))} on {name} at {n} services: {m.stderr_sample[-600:]}")
        rows.append({"services": n, "bytes": os.path.getsize(path), "cpu_s": m.cpu_median,
                     "cpu_runs": [r.cpu for r in m.runs], "wall_s": m.wall_median, "maxrss_mib": m.maxrss_kib / 1024,
                     "exit": sorted(set(m.statuses))})
    base = rows[0]["cpu_s"]
    for row in rows[1:]:
        row["net_cpu_s"] = row["cpu_s"] - base
        row["net_ms_per_service"] = 1000 * row["net_cpu_s"] / (row["services"] - BASELINE)
    steps, quads = [], []
    for a, b in zip(rows[1:], rows[2:]):
        judged = a["net_cpu_s"] >= MIN_NET_S
        if b["services"] == 2 * a["services"]:
            g = ratio(b["net_ms_per_service"], a["net_ms_per_service"])
            steps.append({"from": a["services"], "to": b["services"], "growth": g,
                          "ok": (g <= PER_DOUBLING) if judged else None})
    by_n = {r["services"]: r for r in rows[1:]}
    for n in sorted(by_n):
        if 4 * n in by_n:
            t = ratio(by_n[4 * n]["cpu_s"], by_n[n]["cpu_s"])
            quads.append({"from": n, "to": 4 * n, "cpu_ratio": t, "ok": t <= PER_QUADRUPLING})
    verdicts = [s["ok"] for s in steps + quads if s["ok"] is not None]
    linear = all(verdicts) if verdicts else None
    return {"shape": name, "baseline_cpu_s": base, "sizes": rows[1:], "doublings": steps, "quadruplings": quads,
            "linear": linear, "problems": problems}


def print_shape(r: dict) -> None:
    print(f"-- {r['shape']} (baseline {BASELINE} services: {r['baseline_cpu_s']:.3f} s CPU)")
    print(f"   {'services':>8} {'bytes':>11} {'CPU s':>8} {'net ms/svc':>10} {'x/doubling':>10} {'maxRSS MiB':>10}")
    growth = {s["to"]: s for s in r["doublings"]}
    for row in r["sizes"]:
        g = growth.get(row["services"])
        gs = f"{g['growth']:.2f}" + ("" if g["ok"] is not False else "!") if g else ""
        print(f"   {row['services']:>8} {row['bytes']:>11,} {row['cpu_s']:>8.3f} {row['net_ms_per_service']:>10.3f} "
              f"{gs:>10} {row['maxrss_mib']:>10.1f}")
    quads = ", ".join(f"{q['from']}->{q['to']} {q['cpu_ratio']:.2f}x" for q in r["quadruplings"])
    if quads:
        print(f"   CPU per 4x services: {quads}")
    verdict = {True: "LINEAR", False: "NOT LINEAR", None: "UNDECIDED (net CPU too small: use larger sizes)"}[r["linear"]]
    worst = max((s["growth"] for s in r["doublings"] if s["ok"] is not None), default=None)
    print(f"   verdict: {verdict}" + (f" (worst doubling {worst:.2f}x)" if worst is not None else ""))
    print()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES), metavar="SHAPE",
                    help=f"shapes to measure (default all: {' '.join(SHAPES)})")
    ap.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="numbers of services (default 500 1000 2000 4000 8000)")
    ap.add_argument("--runs", type=int, default=3, help="measured runs per size (default 3), after one warm-up")
    ap.add_argument("--warmups", type=int, default=WARMUPS, help=f"unmeasured runs first (default {WARMUPS})")
    ap.add_argument("--keep", metavar="DIR", help="write the generated projects to DIR and keep them")
    ap.add_argument("--emit", nargs=2, metavar=("SHAPE", "N"), help="print the generated file of SHAPE with N services and exit")
    ap.add_argument("--no-output-check", action="store_true", help="skip validating generated and hardened files with docker-compose")
    ap.add_argument("--json", metavar="OUT", help="also write the figures as JSON to OUT")
    args = ap.parse_args()
    if args.emit:
        sys.stdout.write(SHAPES[args.emit[0]](int(args.emit[1])).compose)
        return 0
    sizes = sorted(set(args.sizes))
    if args.runs < 1 or any(n % 20 or n <= BASELINE for n in sizes):
        ap.error("--runs must be >= 1 and every size a multiple of 20 above 20")

    cli = find_cli()
    env = environment(cli)
    validate = not args.no_output_check and shutil.which("docker-compose") is not None
    print("== compose-harden scale benchmark ==")
    print_environment(env)
    print(f"Shapes:         {' '.join(args.shapes)}")
    print(f"Sizes:          {' '.join(map(str, sizes))} services (+ a {BASELINE}-service baseline per shape)")
    print(f"Runs:           median CPU (user+sys) of {args.runs} after {args.warmups} warm-up(s); stdout to /dev/null")
    print(f"Command:        cd DIR && {' '.join(cli)} --diff -q compose.yaml")
    print(f"Verdict:        LINEAR when net CPU per service grows <= {PER_DOUBLING}x per doubling "
          f"and CPU <= {PER_QUADRUPLING}x per 4x services")
    if not validate:
        print("Output check:   skipped" + ("" if args.no_output_check else " (docker-compose is not on PATH)"))
    print()
    if args.keep:
        workdir = os.path.abspath(args.keep)
        os.makedirs(workdir, exist_ok=True)
        cleanup = None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="bench-scale-")
        workdir = cleanup.name
    results = []
    try:
        for name in args.shapes:
            r = run_shape(name, sizes, cli, args.runs, args.warmups, workdir, validate)
            results.append(r)
            print_shape(r)
    finally:
        if cleanup is not None:
            cleanup.cleanup()

    print("Summary (net CPU ms per service at each size; worst growth per doubling; worst CPU per 4x services; verdict):")
    for r in results:
        per = " ".join(f"{row['net_ms_per_service']:.3f}" for row in r["sizes"])
        worst = max((s["growth"] for s in r["doublings"] if s["ok"] is not None), default=None)
        worst4 = max((q["cpu_ratio"] for q in r["quadruplings"]), default=None)
        verdict = {True: "LINEAR", False: "NOT LINEAR", None: "UNDECIDED"}[r["linear"]]
        print(f"  {r['shape']:<10} {per:<40} {f'{worst:.2f}x' if worst is not None else '-':>6} "
              f"{f'{worst4:.2f}x' if worst4 is not None else '-':>6}  {verdict}")
    problems = [p for r in results for p in r["problems"]]
    for p in problems:
        print(f"PROBLEM: {p}")
    if validate and not problems:
        print("The generated files and their hardened versions pass docker-compose config -q.")
    if args.json:
        write_json(args.json, {"benchmark": "bench_scale", "environment": env, "runs": args.runs, "warmups": args.warmups,
                               "baseline_services": BASELINE, "shapes": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
