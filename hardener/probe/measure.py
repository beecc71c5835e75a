"""Measure from inside every running stand-in, and from the host.

From each container one shell script (busybox: ``nslookup``, ``nc``, ``timeout``) does, in
parallel and bounded in time:

* every other service name (and every alias) is looked up through the container's own resolver;
  each address found is asked ``GET /id`` on the probe port, and the pair counts only when the
  answer is ``<token>:<that service>`` (so neither a catch-all proxy nor a container of another
  run can fake it). busybox ``nc`` is given addresses only: static busybox crashes on host names;
* the outside test host (the probe's own namespace) is asked ``GET /id``: a way out over TCP;
* the name only the probe's resolver knows is looked up: a way out for DNS;
* the probe's listeners on the host's address on each of the container's networks (and toward
  the outside namespace) are asked ``GET /id``: whether the container reaches the Docker host.

A failure that is not definitive (a name with no answer at all, an address that did not answer,
no way out, no host) is checked again in a second, slower pass; it counts as a failure only when
both passes say so. From the host, every published port is asked ``GET /id`` on loopback.
"""

from __future__ import annotations

import concurrent.futures as cf
import re

from hardener.probe.engine import Engine, ProbeError
from hardener.probe.outside import http_get
from hardener.probe.standin import PROBE_PORT, StandinModel
from hardener.record import field, record

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$")
PARALLEL_CONTAINERS = 4


@record(frozen=True)
class Pass:
    jobs: int  # names looked up at once in one container
    dns_wait: int  # seconds for one lookup
    tcp_wait: int  # seconds for one connection


FIRST = Pass(jobs=12, dns_wait=3, tcp_wait=2)
SECOND = Pass(jobs=6, dns_wait=5, tcp_wait=3)

CHECK_SH = r"""
for a in nslookup nc timeout awk; do command -v "$a" >/dev/null 2>&1 || echo "M	$a"; done
ask() {
  printf 'GET /id HTTP/1.0\r\n\r\n' | timeout "$CHP_TCP_WAIT" nc -w "$CHP_TCP_WAIT" "$1" "$2" 2>/dev/null \
    | tail -n 1 | tr -d '\r\t\n'
}
addrs() {
  awk '/^Name:/ {n = 1; next} n && /^Address/ {sub(/^Address( [0-9]+)?:[ \t]*/, ""); split($0, f, " "); print f[1]}' \
    | head -n 4 | tr '\n' ' '
}
look() {
  out=$(timeout "$CHP_DNS_WAIT" nslookup -type=a "$1" 2>&1)
  ips=$(printf '%s\n' "$out" | addrs)
  if [ -n "$ips" ]; then st=ok; else case $out in *NXDOMAIN*) st=nx ;; *) st=none ;; esac; fi
  echo "N	$1	$st	$ips"
  for ip in $ips; do echo "C	$1	$ip	$(ask "$ip" "$CHP_PORT")"; done
}
if [ -n "$CHP_OUT" ]; then ( echo "E	$(ask "${CHP_OUT%:*}" "${CHP_OUT#*:}")" ) & fi
if [ -n "$CHP_XNAME" ]; then
  ( out=$(timeout "$CHP_DNS_WAIT" nslookup -type=a "$CHP_XNAME" 2>&1); echo "X	$(printf '%s\n' "$out" | addrs)" ) &
fi
for h in $CHP_HOSTS; do ( echo "H	$h	$(ask "$h" "$CHP_HOST_PORT")" ) & done
n=0
for t in $CHP_TARGETS; do
  look "$t" &
  n=$((n + 1))
  if [ "$n" -ge "$CHP_JOBS" ]; then wait; n=0; fi
done
wait
echo Z
"""


@record
class Job:
    service: str
    container: str
    targets: list[str]
    outside: str  # "ip:port" or ""
    dns_name: str  # looked up for the DNS way out, or ""
    hosts: list[str]


@record
class Seen:
    """What one container saw."""

    status: dict[str, str] = field(default_factory=dict)  # name -> ok | nx | none
    answers: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> address -> answer
    egress: str = ""
    dns_egress: list[str] = field(default_factory=list)
    host: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    complete: bool = False
    error: str = ""

    def merge(self, other: "Seen") -> None:
        for name, st in other.status.items():
            if st == "ok" or self.status.get(name) != "ok":
                self.status[name] = st
        for name, by_ip in other.answers.items():
            mine = self.answers.setdefault(name, {})
            for ip, answer in by_ip.items():
                if answer:
                    mine[ip] = answer
        self.egress = self.egress or other.egress
        self.dns_egress = self.dns_egress or other.dns_egress
        for h, answer in other.host.items():
            if answer:
                self.host[h] = answer


def parse(text: str) -> Seen:
    seen = Seen()
    for line in text.splitlines()[:20000]:
        f = line.split("\t")
        if f[0] == "N" and len(f) >= 4:
            seen.status[f[1]] = f[2]
        elif f[0] == "C" and len(f) >= 4:
            seen.answers.setdefault(f[1], {})[f[2]] = f[3]
        elif f[0] == "E" and len(f) >= 2:
            seen.egress = f[1]
        elif f[0] == "X" and len(f) >= 2:
            seen.dns_egress = f[1].split()
        elif f[0] == "H" and len(f) >= 3:
            seen.host[f[1]] = f[2]
        elif f[0] == "M" and len(f) >= 2:
            seen.missing.append(f[1])
        elif f[0] == "Z":
            seen.complete = True
    return seen


def _exec(engine: Engine, job: Job, p: Pass, host_port: int) -> Seen:
    env = {
        "CHP_TARGETS": " ".join(job.targets), "CHP_PORT": str(PROBE_PORT), "CHP_JOBS": str(p.jobs),
        "CHP_DNS_WAIT": str(p.dns_wait), "CHP_TCP_WAIT": str(p.tcp_wait), "CHP_OUT": job.outside,
        "CHP_XNAME": job.dns_name, "CHP_HOSTS": " ".join(job.hosts), "CHP_HOST_PORT": str(host_port),
    }
    args = ["exec"]
    for k, v in env.items():
        args += ["-e", f"{k}={v}"]
    # the script's own bound: every lookup batch and connection is capped by busybox timeout
    rounds = max(1, -(-len(job.targets) // p.jobs))
    cap = 20 + rounds * (p.dns_wait + 4 * (p.tcp_wait + 1))
    try:
        r = engine.docker_cmd([*args, job.container, "sh", "-c", CHECK_SH], cap)
    except ProbeError as exc:
        return Seen(error=str(exc))
    seen = parse(r.stdout)
    if not seen.complete:
        seen.error = (r.stderr.strip().splitlines() or ["the check did not finish"])[-1]
    return seen


def run_pass(engine: Engine, jobs: list[Job], p: Pass, host_port: int) -> dict[str, Seen]:
    if not jobs:
        return {}
    with cf.ThreadPoolExecutor(max_workers=min(PARALLEL_CONTAINERS, len(jobs))) as pool:
        futures = {job.service: pool.submit(_exec, engine, job, p, host_port) for job in jobs}
        return {s: f.result() for s, f in futures.items()}


def reached(seen: Seen, name: str, owners: list[str], token: str) -> bool:
    wanted = {f"{token}:{o}" for o in owners}
    return any(a in wanted for a in seen.answers.get(name, {}).values())


def retry_job(job: Job, seen: Seen, owners: dict[str, list[str]], token: str, outside_body: str,
              host_body: str) -> Job | None:
    """What the second pass checks again for one container: every failure that is not definitive."""
    if seen.error:
        return job
    targets = [t for t in job.targets if seen.status.get(t) != "nx" and not reached(seen, t, owners[t], token)]
    outside = job.outside if job.outside and seen.egress != outside_body else ""
    dns_name = job.dns_name if job.dns_name and not seen.dns_egress else ""
    hosts = [h for h in job.hosts if seen.host.get(h) != host_body]
    if not (targets or outside or dns_name or hosts):
        return None
    return Job(job.service, job.container, targets, outside, dns_name, hosts)


def measure(engine: Engine, sm: StandinModel, jobs: list[Job], token: str, outside_ip: str, outside_body: str,
            host_body: str, host_port: int, notes: list[str]) -> tuple[dict[str, Seen], list[str]]:
    """Both passes; returns what each container saw and the checks that passed only the second time."""
    owners = owners_of(sm)
    first = run_pass(engine, jobs, FIRST, host_port)
    again = [j for j in (retry_job(job, first[job.service], owners, token, outside_body, host_body) for job in jobs) if j]
    second = run_pass(engine, again, SECOND, host_port)
    late: list[str] = []
    for s, seen2 in second.items():
        seen1 = first[s]
        if seen1.error:
            first[s] = seen2
            continue
        if seen2.error:
            notes.append(f"{s}: second pass failed: {seen2.error}")
            continue
        for t in seen2.answers:
            if reached(seen2, t, owners.get(t, []), token) and not reached(seen1, t, owners.get(t, []), token):
                late.append(f"{s} -> {t}")
        if seen2.egress == outside_body and seen1.egress != outside_body:
            late.append(f"{s} -> outside")
        if outside_ip in seen2.dns_egress and outside_ip not in seen1.dns_egress:
            late.append(f"{s} -> outside (DNS)")
        seen1.merge(seen2)
    for s, seen in first.items():
        if seen.missing:
            raise ProbeError(f"the stand-in image lacks {', '.join(sorted(set(seen.missing)))} (needs busybox with "
                             "nslookup, nc, timeout, awk, httpd)")
        if seen.error:
            notes.append(f"{s}: not measured: {seen.error}")
    return first, sorted(late)


def owners_of(sm: StandinModel) -> dict[str, list[str]]:
    """Every name the probe looks up -> the services whose answer makes it count."""
    owners = {n: [n] for n in sm.services}
    names: dict[str, set[str]] = {}
    for alias, who in sm.alias_of.items():
        names.setdefault(alias, set()).update(who)
    for links in sm.link_aliases.values():
        for alias, target in links.items():
            names.setdefault(alias, set()).add(target)
    for alias, who in names.items():
        owners.setdefault(alias, sorted(who))
    return owners


def targets_for(sm: StandinModel, service: str) -> list[str]:
    names = [n for n in sm.services if n != service]
    names += sorted(a for a in sm.alias_of if a not in sm.services)
    names += sorted(a for a in sm.link_aliases.get(service, {}) if a not in sm.services and a not in sm.alias_of)
    return [n for n in dict.fromkeys(names) if NAME.match(n)]


def published(sm: StandinModel, token: str) -> dict[str, dict[str, str | None]]:
    """From the host: which service answers on each published port (keyed as the file publishes it)."""
    out: dict[str, dict[str, str | None]] = {}
    by_answer = {f"{token}:{s}": s for s in sm.services}
    for svc in sorted(sm.published):
        for p in sm.published[svc]:
            answer = None
            for _ in range(2):
                answer = by_answer.get(http_get("127.0.0.1", p.host_port, 3) or "")
                if answer:
                    break
            out.setdefault(svc, {})[p.key] = answer
    return out
