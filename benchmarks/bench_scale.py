#!/usr/bin/env python3
"""How compose-harden's time and memory grow with the number of services in one compose file.

For each N in --sizes (default 250 500 1000 2000) a synthetic but realistic compose file with N
services is generated (blocks of 10 services, see ``block``), written to a temporary directory
and timed with ``compose-harden --diff -q FILE`` (median of --runs, default 5, after 1 warm-up;
max RSS of the child from os.wait4). A 10-service file (one block) gives the baseline that is
subtracted to get the "net" figures: start-up and imports cost the same at every N.

Reported: time per service, time and net-memory ratios between consecutive sizes and between
the largest and smallest size versus what linear growth predicts, and a verdict: growth looks
linear when each step's net-time ratio is at most 1.2x the size ratio (<= 2.4 per doubling) and
the overall ratio at most 1.6x the size ratio (<= 12.8 for 250 -> 2000).

Each generated file is checked once with ``docker-compose -f FILE config -q`` when docker-compose
is on PATH (a warning otherwise); the hardened output (--write on a copy) is checked the same way.
This is a report, not a test: it always exits 0.

Run:  python benchmarks/bench_scale.py [--sizes 250 500 1000 2000] [--runs 5] [--keep DIR] [--json OUT]
      python benchmarks/bench_scale.py --emit 30 > compose.yaml     # just print a generated file
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

BLOCK = 10  # services per block
BASELINE_SERVICES = 10
WARMUPS = 1
STEP_TOLERANCE = 1.2  # a step is "linear" if time ratio <= 1.2 x size ratio (2.4 per doubling)
OVERALL_TOLERANCE = 1.6  # overall: <= 1.6 x size ratio (12.8 for 8x the services)
MIN_NET_S = 0.02  # below this much net time a size is too close to the baseline for a ratio

HEADER = """\
# Synthetic compose file for compose-harden's scale benchmark (benchmarks/bench_scale.py).
# {services} services in {blocks} blocks of 10: edge (nginx), 5 apps, postgres, redis,
# adminer and a worker on the bridge network; every third block declares its own networks.
name: bench-scale-{services}

x-common: &common
  restart: unless-stopped
  logging:
    driver: json-file
    options:
      max-size: "10m"   # keep the disks alive
      max-file: "3"

x-app-env: &app-env
  LOG_LEVEL: info
  TZ: UTC

x-healthcheck: &pg-health
  test: ["CMD-SHELL", "pg_isready -U app"]
  interval: 10s
  timeout: 5s
  retries: 5

services:
"""


def has_networks(k: int) -> bool:
    """About a third of the blocks declare an explicit network pair instead of the default network."""
    return k % 3 == 1


def block(k: int) -> str:
    """The 10 services of block ``k``."""
    db, cache = f"db{k}", f"cache{k}"
    front, back = f"b{k}-front", f"b{k}-back"
    nets = has_networks(k)
    apps = [f"app{k}-{j}" for j in range(5)]

    def networks(*names: str) -> str:
        if not nets:
            return ""
        return "    networks:\n" + "".join(f"      - {n}\n" for n in names)

    out = [f"  # ---- block {k}{' (own networks)' if nets else ''} ----\n"]
    # 1 edge
    out.append(
        f"  edge{k}:\n"
        f"    <<: *common\n"
        f"    image: nginx:1.27-alpine\n"
        f"    ports:\n"
        f'      - "{20000 + k}:80"   # public entry point\n'
        f"    volumes:\n"
        f"      - ./nginx/block{k}.conf:/etc/nginx/conf.d/default.conf:ro\n"
        f"    depends_on:\n" + "".join(f"      - {a}\n" for a in apps[:3]) + networks(front)
    )
    # 5 apps, a mix of build contexts, image names, environment styles and depends_on forms
    out.append(
        f"  {apps[0]}:\n"
        f"    <<: *common\n"
        f"    build: ./app\n"
        f"    environment:\n"
        f"      <<: *app-env\n"
        f"      DATABASE_URL: postgres://{db}:5432/x\n"
        f"      CACHE_URL: redis://{cache}:6379\n"
        f"    depends_on:\n"
        f"      - {db}\n"
        f"      - {cache}\n" + networks(front, back)
    )
    out.append(
        f"  {apps[1]}:\n"
        f"    <<: *common\n"
        f"    image: registry.example.com/shop/api:2.{k}\n"
        f"    environment:\n"
        f"      - DATABASE_URL=postgres://{db}:5432/x\n"
        f"      - CACHE_URL=redis://{cache}:6379\n"
        f"      - UPSTREAM=http://{apps[0]}:8080\n"
        f"    depends_on:\n"
        f"      - {db}\n"
        f"      - {apps[0]}\n" + networks(front, back)
    )
    out.append(
        f"  {apps[2]}:\n"
        f"    <<: *common\n"
        f"    build:\n"
        f"      context: ./app\n"
        f"      dockerfile: Dockerfile\n"
        f"      args:\n"
        f"        BLOCK: \"{k}\"\n"
        f"    image: acme/storefront:{k}\n"
        f"    environment:\n"
        f"      <<: *app-env\n"
        f"      CACHE_URL: redis://{cache}:6379   # sessions\n"
        f"    expose:\n"
        f'      - "3000"\n'
        f"    depends_on:\n"
        f"      - {cache}\n" + networks(front, back)
    )
    out.append(
        f"  {apps[3]}:\n"
        f"    <<: *common\n"
        f"    image: ghcr.io/acme/orders:latest\n"
        f"    environment:\n"
        f"      DATABASE_URL: postgres://{db}:5432/x\n"
        f"    depends_on:\n"
        f"      {db}:\n"
        f"        condition: service_healthy\n" + networks(back)
    )
    out.append(
        f"  {apps[4]}:\n"
        f"    <<: *common\n"
        f"    image: acme/billing:1.4.{k}\n"
        f"    command: [\"billing\", \"--listen\", \":9000\"]\n"
        f"    environment:\n"
        f"      DATABASE_URL: postgres://{db}:5432/x\n"
        f"      CACHE_URL: redis://{cache}:6379\n"
        f"    depends_on:\n"
        f"      {db}:\n"
        f"        condition: service_healthy\n"
        f"      {cache}:\n"
        f"        condition: service_started\n" + networks(back)
    )
    # 2 data stores
    out.append(
        f"  {db}:\n"
        f"    <<: *common\n"
        f"    image: postgres:16-alpine\n"
        f"    environment:\n"
        f"      POSTGRES_USER: app\n"
        f"      POSTGRES_PASSWORD: example   # not a real secret\n"
        f"      POSTGRES_DB: x\n"
        f"    volumes:\n"
        f"      - {db}-data:/var/lib/postgresql/data\n"
        f"    healthcheck: *pg-health\n" + networks(back)
    )
    out.append(
        f"  {cache}:\n"
        f"    <<: *common\n"
        f"    image: redis:7-alpine\n"
        f"    command: redis-server --save \"\" --appendonly no\n" + networks(back)
    )
    # 1 admin tool
    out.append(
        f"  adminer{k}:\n"
        f"    <<: *common\n"
        f"    image: adminer:4\n"
        f"    ports:\n"
        f'      - "{40000 + k}:8080"\n'
        f"    environment:\n"
        f"      ADMINER_DEFAULT_SERVER: {db}\n"
        f"    depends_on:\n"
        f"      - {db}\n" + networks(front, back)
    )
    # 1 worker on the bridge network
    out.append(
        f"  # the worker only talks to the outside world\n"
        f"  worker{k}:\n"
        f"    <<: *common\n"
        f"    image: acme/mailer:3\n"
        f"    network_mode: bridge\n"
        f"    environment:\n"
        f"      SMTP_HOST: smtp.example.com\n"
    )
    return "".join(out)


def generate(services: int) -> str:
    """A compose file with ``services`` services (rounded up to a multiple of 10)."""
    blocks = max(1, -(-services // BLOCK))
    parts = [HEADER.format(services=blocks * BLOCK, blocks=blocks)]
    parts.extend(block(k) for k in range(blocks))
    parts.append("\nvolumes:\n")
    parts.extend(f"  db{k}-data:\n" for k in range(blocks))
    declared = [k for k in range(blocks) if has_networks(k)]
    if declared:
        parts.append("\nnetworks:\n")
        for k in declared:
            parts.append(f"  b{k}-front:\n  b{k}-back:\n")
    return "".join(parts)


def write_project(directory: str, services: int) -> str:
    """Write compose-N.yaml plus the ./app build context and the nginx configs it mounts."""
    os.makedirs(os.path.join(directory, "app"), exist_ok=True)
    dockerfile = os.path.join(directory, "app", "Dockerfile")
    if not os.path.exists(dockerfile):
        with open(dockerfile, "w", encoding="utf-8") as fh:
            fh.write("FROM python:3.12-slim\nCOPY . /app\nCMD [\"python\", \"/app/main.py\"]\n")
    main_py = os.path.join(directory, "app", "main.py")
    if not os.path.exists(main_py):
        with open(main_py, "w", encoding="utf-8") as fh:
            fh.write("import os\n\nDATABASE_URL = os.environ.get('DATABASE_URL')\nCACHE_URL = os.environ.get('CACHE_URL')\n")
    os.makedirs(os.path.join(directory, "nginx"), exist_ok=True)
    for k in range(max(1, -(-services // BLOCK))):
        conf = os.path.join(directory, "nginx", f"block{k}.conf")
        if not os.path.exists(conf):
            with open(conf, "w", encoding="utf-8") as fh:
                fh.write(f"server {{\n  listen 80;\n  location / {{ proxy_pass http://app{k}-0:8080; }}\n"
                         f"  location /api/ {{ proxy_pass http://app{k}-1:8080; }}\n}}\n")
    path = os.path.join(directory, f"compose-{services}.yaml")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(generate(services))
    return path


def docker_compose_check(path: str) -> tuple[bool, str]:
    """``docker-compose -f FILE config -q``: (valid, message)."""
    proc = subprocess.run(
        ["docker-compose", "-f", path, "config", "-q"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=os.path.dirname(path),
    )
    msg = (proc.stderr or proc.stdout).strip()
    return proc.returncode == 0, msg


def hardened_check(cli: list[str], path: str, have_dc: bool) -> dict:
    """Run --diff once (capturing the diff) and --write on a copy, then validate the written file."""
    info: dict = {}
    proc = subprocess.run(cli + ["--diff", "-q", path], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    info["diff_status"] = proc.returncode
    info["diff_lines"] = proc.stdout.count("\n")
    info["diff_stderr"] = proc.stderr.strip()[-2000:]
    copy = path[: -len(".yaml")] + ".hardened.yaml"
    shutil.copyfile(path, copy)
    proc = subprocess.run(cli + ["--write", "-q", copy], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    info["write_status"] = proc.returncode
    info["write_stderr"] = proc.stderr.strip()[-2000:]
    if have_dc and proc.returncode < 2:
        ok, msg = docker_compose_check(copy)
        info["hardened_valid"] = ok
        info["hardened_msg"] = msg[-2000:]
    os.unlink(copy)
    return info


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000], help="numbers of services (multiples of 10; default 250 500 1000 2000)")
    ap.add_argument("--runs", type=int, default=5, help="measured runs per size (default 5), after %d warm-up" % WARMUPS)
    ap.add_argument("--keep", metavar="DIR", help="write the generated files to DIR and keep them (default: a temp dir, removed)")
    ap.add_argument("--emit", type=int, metavar="N", help="print the generated file with N services to stdout and exit")
    ap.add_argument("--no-output-check", action="store_true", help="skip validating the hardened output with docker-compose")
    ap.add_argument("--json", metavar="OUT", help="also write the figures as JSON to OUT")
    args = ap.parse_args()
    if args.emit is not None:
        sys.stdout.write(generate(args.emit))
        return 0
    if args.runs < 1 or any(n < BLOCK for n in args.sizes):
        ap.error("--runs must be >= 1 and every size >= 10")
    sizes = sorted({max(BLOCK, -(-n // BLOCK) * BLOCK) for n in args.sizes})

    cli = find_cli()
    env = environment(cli)
    have_dc = shutil.which("docker-compose") is not None
    print("== compose-harden scale benchmark ==")
    print_environment(env)
    print(f"Sizes:          {' '.join(map(str, sizes))} services (+ a {BASELINE_SERVICES}-service baseline)")
    print(f"Runs:           median of {args.runs} after {WARMUPS} warm-up; stdout to /dev/null")
    if args.keep:
        workdir = os.path.abspath(args.keep)
        os.makedirs(workdir, exist_ok=True)
        cleanup = None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="bench-scale-")
        workdir = cleanup.name
    print(f"Files in:       {workdir}{'' if args.keep else ' (removed afterwards; --keep DIR to keep)'}")
    print(f"Command:        {' '.join(cli)} --diff -q {workdir}/compose-N.yaml")
    if not have_dc:
        print("WARNING: docker-compose is not on PATH: the generated files were NOT validated")
    print()

    problems: list[str] = []
    rows = []
    try:
        for n in [BASELINE_SERVICES] + sizes:
            path = write_project(workdir, n)
            size = os.path.getsize(path)
            row: dict = {"services": n, "bytes": size, "path": path}
            if have_dc:
                ok, msg = docker_compose_check(path)
                row["compose_valid"] = ok
                if not ok:
                    problems.append(f"docker-compose rejects the generated {n}-service file: {msg[-800:]}")
            if not args.no_output_check:
                row.update(hardened_check(cli, path, have_dc))
                for key in ("diff_status", "write_status"):
                    if row[key] >= 2 or row[key] < 0:
                        mode = key.split("_")[0]
                        problems.append(
                            f"--{mode} exited {row[key]} on the {n}-service file "
                            f"(reproduce: python benchmarks/bench_scale.py --emit {n} > f.yaml; mkdir app; "
                            f"compose-harden --{mode} f.yaml): {row[mode + '_stderr'][-800:]}"
                        )
                if row.get("hardened_valid") is False:
                    problems.append(f"docker-compose rejects the hardened {n}-service file: {row['hardened_msg'][-800:]}")
            print(f"  timing {n} services ({size:,} bytes) ...", file=sys.stderr, flush=True)
            m = measure(f"{n} services", cli + ["--diff", "-q", path], args.runs, WARMUPS, workdir)
            if m.failed:
                problems.append(f"--diff exited {sorted(set(m.statuses))} on the {n}-service file: {m.stderr_sample[-800:]}")
            row.update(m.summary())
            row["_m"] = m
            rows.append(row)
    finally:
        if cleanup is not None:
            cleanup.cleanup()

    base = rows[0]["_m"]
    base_t, base_rss = base.wall_median, base.maxrss_kib / 1024
    print(f"Baseline ({BASELINE_SERVICES} services): median {base_t:.3f} s, max RSS {base_rss:.1f} MiB")
    print()
    hdr = (f"{'services':>8} {'bytes':>10} {'median s':>9} {'min s':>7} {'cpu s':>7} {'ms/svc':>7} "
           f"{'net ms/svc':>10} {'maxRSS MiB':>10} {'net MiB':>8} {'KiB/svc':>8} {'exit':>5} {'valid':>6} {'diff lines':>10}")
    print(hdr)
    print("-" * len(hdr))
    for row in rows[1:]:
        m = row["_m"]
        net_t = m.wall_median - base_t
        net_rss = m.maxrss_kib / 1024 - base_rss
        row["net_wall_median_s"] = round(net_t, 4)
        row["net_maxrss_mib"] = round(net_rss, 1)
        row["ms_per_service"] = round(1000 * m.wall_median / row["services"], 3)
        row["net_ms_per_service"] = round(1000 * net_t / row["services"], 3)
        valid = {True: "yes", False: "NO"}.get(row.get("compose_valid"), "n/a")
        print(f"{row['services']:>8} {row['bytes']:>10,} {m.wall_median:>9.3f} {m.wall_min:>7.3f} {m.cpu_median:>7.3f} "
              f"{row['ms_per_service']:>7.3f} {row['net_ms_per_service']:>10.3f} {m.maxrss_kib / 1024:>10.1f} "
              f"{net_rss:>8.1f} {1024 * net_rss / row['services']:>8.1f} {','.join(map(str, sorted(set(m.statuses)))):>5} "
              f"{valid:>6} {row.get('diff_lines', ''):>10}")
    print()

    steps = []
    if len(rows) > 2:
        print("Growth between consecutive sizes (linear growth: time ratio = size ratio):")
        print(f"  {'from -> to':<14} {'size x':>6} {'time x':>7} {'net time x':>10} {'net RSS x':>9}  verdict (net time <= {STEP_TOLERANCE} x size ratio)")
        for a, b in zip(rows[1:], rows[2:]):
            n_x = b["services"] / a["services"]
            t_x = ratio(b["_m"].wall_median, a["_m"].wall_median)
            nt_x = ratio(b["net_wall_median_s"], a["net_wall_median_s"])
            nm_x = ratio(b["net_maxrss_mib"], a["net_maxrss_mib"])
            # too close to the baseline to compare: the ratio would be noise (or a division by ~0)
            ok = None if a["net_wall_median_s"] < MIN_NET_S else nt_x <= STEP_TOLERANCE * n_x
            steps.append({"from": a["services"], "to": b["services"], "size_ratio": n_x, "time_ratio": round(t_x, 3),
                          "net_time_ratio": round(nt_x, 3), "net_rss_ratio": round(nm_x, 3), "linear": ok})
            verdict = {True: "linear", False: "SUPERLINEAR", None: f"n/a (net time < {MIN_NET_S} s: use larger sizes)"}[ok]
            print(f"  {str(a['services']) + ' -> ' + str(b['services']):<14} {n_x:>6.2f} {t_x:>7.2f} {nt_x:>10.2f} {nm_x:>9.2f}  {verdict}")
        first, last = rows[1], rows[-1]
        n_x = last["services"] / first["services"]
        t_x = ratio(last["_m"].wall_median, first["_m"].wall_median)
        nt_x = ratio(last["net_wall_median_s"], first["net_wall_median_s"])
        nm_x = ratio(last["net_maxrss_mib"], first["net_maxrss_mib"])
        overall_ok = nt_x <= OVERALL_TOLERANCE * n_x and all(s["linear"] is not False for s in steps)
        if first["net_wall_median_s"] < MIN_NET_S:
            overall_ok = None
        print()
        print(f"Overall {first['services']} -> {last['services']} services ({n_x:.0f}x; linear predicts {n_x:.0f}x):")
        print(f"  time      {t_x:6.2f}x   (raw medians, start-up included)")
        print(f"  net time  {nt_x:6.2f}x   (minus the {BASELINE_SERVICES}-service baseline)")
        print(f"  net RSS   {nm_x:6.2f}x   (max RSS minus the baseline's)")
        print(f"Verdict: growth looks {({True: 'LINEAR', False: 'SUPERLINEAR', None: 'UNDECIDED (sizes too small)'})[overall_ok]} "
              f"(net time: each step <= {STEP_TOLERANCE}x the size ratio, overall <= {OVERALL_TOLERANCE}x)")
        overall = {"from": first["services"], "to": last["services"], "size_ratio": n_x, "time_ratio": round(t_x, 3),
                   "net_time_ratio": round(nt_x, 3), "net_rss_ratio": round(nm_x, 3), "linear": overall_ok}
    else:
        overall = None
        print("(give at least two sizes for growth ratios)")
    if problems:
        print()
        for p in problems:
            print(f"PROBLEM: {p}")
    elif have_dc:
        print("All generated files" + ("" if args.no_output_check else " and their hardened versions") + " pass docker-compose config -q.")

    if args.json:
        for row in rows:
            row.pop("_m", None)
        out = {"benchmark": "bench_scale", "environment": env, "runs": args.runs, "warmups": WARMUPS,
               "baseline": rows[0], "sizes": rows[1:], "steps": steps, "overall": overall, "problems": problems}
        write_json(args.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
