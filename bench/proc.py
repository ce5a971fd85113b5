"""Processes under test: CPU plan, pinned child servers, and /proc readings.

Rule 1: the cores are shared out: servers on one CPU, load generators and this
        orchestrator on the others, so a server under test and the load driving it
        never share a CPU when the machine has two or more.
Rule 2: a server is started as its own pinned process, and its port is read from
        the banner it prints.
Rule 3: a process's CPU-seconds are utime + stime from /proc/<pid>/stat, its
        resident memory VmRSS from /proc/<pid>/status; the machine's load over a
        run is the 1-minute load average, sampled (MachineLoad).
Rule 4: every child is stopped by its own pid (SIGTERM, then SIGKILL), never by
        name.
"""

from __future__ import annotations

import dataclasses
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

_CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass(frozen=True)
class CpuPlan:
    server: tuple[int, ...]
    load: tuple[int, ...]

    def describe(self) -> str:
        if self.server == self.load:
            return f"no pinning: servers and load generators share CPUs {_cpus(self.server)}"
        return (
            f"servers under test (Rollcall and baselines) pinned to CPU {_cpus(self.server)};"
            f" load generators, watchers, wrk and this orchestrator on CPU {_cpus(self.load)}"
        )


def _cpus(cpus: Sequence[int]) -> str:
    return ",".join(str(c) for c in cpus)


def plan_cpus() -> CpuPlan:
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2 or shutil.which("taskset") is None:
        return CpuPlan(tuple(available), tuple(available))
    return CpuPlan((available[0],), tuple(available[1:]))


def pin_self(cpus: Sequence[int]) -> None:
    """Pin this process (and every child it starts later) to `cpus`."""
    os.sched_setaffinity(0, set(cpus))


def cpu_seconds(pid: int) -> float:
    """User + system CPU-seconds of every thread of `pid` so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        stat = f.read()
    # The command name (field 2) may hold spaces: split after its closing paren.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class MachineLoad:
    """The machine's 1-minute load average, sampled every `every` seconds on a
    thread of its own while a run lasts."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.samples: list[float] = [round(os.getloadavg()[0], 2)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="load", daemon=True)

    def start(self) -> MachineLoad:
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(round(os.getloadavg()[0], 2))

    def stop(self) -> dict[str, object]:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.samples.append(round(os.getloadavg()[0], 2))
        ordered = sorted(self.samples)
        return {
            "loadavg_1m_min": ordered[0],
            "loadavg_1m_median": ordered[len(ordered) // 2],
            "loadavg_1m_max": ordered[-1],
            "cpus": os.cpu_count(),
            "every_seconds": self.every,
            "samples": self.samples,
        }


def pinned(cpus: Sequence[int], argv: Sequence[str]) -> list[str]:
    if shutil.which("taskset") is None:
        return list(argv)
    return ["taskset", "-c", _cpus(cpus), *argv]


class ServerProcess:
    """A server in its own (pinned) process; ports come from its stdout banner."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        banner: re.Pattern[str],
        *,
        cpus: Sequence[int],
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        cwd: Path = REPO,
    ) -> None:
        self.name = name
        self.cwd = cwd
        self.argv = pinned(cpus, argv)
        self.banner = banner
        self.env = dict(os.environ if env is None else env)
        self.log_path = log_path
        self.proc: subprocess.Popen[str] | None = None
        self.ports: tuple[int, ...] = ()

    def start(self, timeout: float = 60.0) -> ServerProcess:
        log = open(self.log_path, "a") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        finally:
            if log is not subprocess.DEVNULL:
                log.close()  # type: ignore[union-attr]
        assert self.proc.stdout is not None
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self.stop()
                    raise RuntimeError(f"{self.name} printed no banner in {timeout}s: {seen}")
                line = self.proc.stdout.readline()
                if not line:
                    self.stop()
                    raise RuntimeError(f"{self.name} exited before its banner: {seen}")
                seen.append(line)
                match = self.banner.search(line)
                if match:
                    self.ports = tuple(int(g) for g in match.groups() if g)
                    return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        if proc.stdout is not None:
            proc.stdout.close()
