"""Shared helpers for the benchmark scripts: run a command as a child process and measure it.

Standard library only. Each run is timed from just before the child is spawned until ``os.wait4``
reaps it (wall clock, ``time.perf_counter``); the same ``wait4`` call returns the child's own
resource usage, from which we take user + system CPU seconds and the maximum resident set size.
"""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Run:
    wall: float  # seconds
    cpu: float  # user + sys seconds of the child
    maxrss_kib: int  # ru_maxrss of the child (KiB on Linux)
    status: int  # exit code (negative: killed by that signal)


@dataclass
class Measurement:
    name: str
    argv: list[str]
    runs: list[Run] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    stderr_sample: str = ""  # stderr of the first run whose status was >= 2 or a signal

    @property
    def walls(self) -> list[float]:
        return [r.wall for r in self.runs]

    @property
    def wall_min(self) -> float:
        return min(self.walls)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.walls)

    @property
    def wall_max(self) -> float:
        return max(self.walls)

    @property
    def cpu_median(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def maxrss_kib(self) -> int:
        return max(r.maxrss_kib for r in self.runs)

    @property
    def failed(self) -> bool:
        """Exit status 2 (could not process) or death by a signal, in any run or warm-up."""
        return any(s >= 2 or s < 0 for s in self.statuses)

    def summary(self) -> dict:
        return {
            "name": self.name,
            "argv": self.argv,
            "runs": len(self.runs),
            "wall_min_s": round(self.wall_min, 4),
            "wall_median_s": round(self.wall_median, 4),
            "wall_max_s": round(self.wall_max, 4),
            "cpu_median_s": round(self.cpu_median, 4),
            "maxrss_mib": round(self.maxrss_kib / 1024, 1),
            "exit_statuses": sorted(set(self.statuses)),
            "all_runs": [asdict(r) for r in self.runs],
        }


def run_once(argv: list[str], cwd: str | None = None) -> tuple[Run, str]:
    """Run ``argv`` once; stdout is discarded, stderr is kept (in a temp file) for diagnosis."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _, wstatus, ru = os.wait4(proc.pid, 0)
        t1 = time.perf_counter()
        proc.returncode = os.waitstatus_to_exitcode(wstatus)  # reaped here, so Popen must not wait again
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    run = Run(wall=t1 - t0, cpu=ru.ru_utime + ru.ru_stime, maxrss_kib=ru.ru_maxrss, status=proc.returncode)
    return run, stderr


def measure(name: str, argv: list[str], runs: int, warmups: int, cwd: str | None = None) -> Measurement:
    m = Measurement(name, argv)
    for i in range(warmups + runs):
        run, stderr = run_once(argv, cwd)
        m.statuses.append(run.status)
        if (run.status >= 2 or run.status < 0) and not m.stderr_sample:
            m.stderr_sample = stderr[-4000:]
        if i >= warmups:
            m.runs.append(run)
    return m


def find_cli() -> list[str]:
    """The ``compose-harden`` entry point on PATH, else ``python -m hardener`` with this Python."""
    import shutil

    exe = shutil.which("compose-harden")
    return [exe] if exe else [sys.executable, "-m", "hardener"]


def cli_version(cli: list[str]) -> str:
    out = subprocess.run(cli + ["--version"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return (out.stdout or out.stderr).strip()


def cli_interpreter(cli: list[str]) -> str:
    """The Python that runs the CLI: the entry point's shebang interpreter, or cli[0]."""
    interp = cli[0]
    if len(cli) == 1:
        try:
            with open(cli[0], "rb") as fh:
                first = fh.readline().decode("utf-8", "replace").strip()
            if first.startswith("#!"):
                interp = shlex.split(first[2:])[0]
        except OSError:
            pass
    return interp


def cli_python(cli: list[str]) -> str:
    """Version of the Python that runs the CLI."""
    interp = cli_interpreter(cli)
    out = subprocess.run(
        [interp, "-c", "import sys, platform; print(platform.python_implementation(), sys.version.split()[0])"],
        capture_output=True,
        text=True,
    )
    return f"{out.stdout.strip()} ({interp})"


def environment(cli: list[str]) -> dict:
    return {
        "cli": cli,
        "cli_version": cli_version(cli),
        "cli_python": cli_python(cli),
        "bench_python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "cpu_count": os.cpu_count(),
        "sched_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def print_environment(env: dict) -> None:
    print(f"compose-harden: {env['cli_version']}  [{' '.join(env['cli'])}]")
    print(f"Python (CLI):   {env['cli_python']}")
    print(f"Python (bench): {env['bench_python']}")
    print(f"CPUs:           {env['cpu_count']} (usable: {env['sched_affinity']})  {env['platform']}")
    print(f"Date:           {env['date']}")


def fmt_s(x: float) -> str:
    return f"{x:.3f}"


def write_json(path: str, obj: dict) -> None:
    import json

    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2)
        fh.write("\n")
    print(f"JSON written to {path}")
