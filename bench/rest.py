"""REST gateway load: wrk (a C HTTP load generator) driving Create and Fetch, with a fallback.

Rule 1: wrk runs pinned to the load CPUs against Twilio's Participant URIs. Fetch:
        a GET of one participant; Create: a Lua script that POSTs the same form the
        Twilio SDK sends, moving to a new conference friendly name every
        PER_CONFERENCE requests so none reaches Twilio's 250 cap.
Rule 2: wrk's report is parsed: requests/s, p50/p99 from --latency, non-2xx and
        socket errors.
Rule 3: when wrk is not installed, `python -m bench.rest SPEC` is an aiohttp client
        load generator that does the same in one process; the output says which one
        ran.
Rule 4: Rollcall's gateway and the bare aiohttp endpoint get the same requests from
        the same generator, and the server's CPU-seconds are read from /proc around
        each run.
Rule 5: what the gateway costs is its own figure: REST Create c=64 against
        Rollcall's own gRPC Create c=64 (bench/load.py), run in the same rounds on
        the same server.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.budget import Budget
from bench.proc import PYTHON, REPO, cpu_seconds
from bench.report import REPORTED, Figure, Goal
from bench.stats import percentile
from bench.target import AUTHORIZATION, REST_CREATE_FORM, rest_create_path

PER_CONFERENCE = 100

_LUA = """
wrk.method = "POST"
wrk.body = "{form}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "{authorization}"
local counter = 0
request = function()
  local path = "{prefix}" .. math.floor(counter / {per}) .. "{suffix}"
  counter = counter + 1
  return wrk.format(nil, path)
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def generator() -> str:
    return "wrk" if shutil.which("wrk") else "python-aiohttp"


def _create_path_parts(tag: str) -> tuple[str, str]:
    marker = "@@"
    path = rest_create_path(f"rest-{tag}-{marker}")
    prefix, suffix = path.split(marker)
    return prefix, suffix


def _ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(report: str) -> dict[str, Any]:
    """requests/s, p50/p99 (ms) and error counts from `wrk --latency` output."""
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", report)
    total = re.search(r"(\d+) requests in", report)
    if rps is None or total is None:
        raise ValueError(f"not a wrk report: {report[:500]!r}")
    latencies = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", report, re.MULTILINE))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket:
        errors += sum(int(g) for g in socket.groups())
    return {
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)),
        "p50_ms": _ms(latencies["50"]) if "50" in latencies else None,
        "p99_ms": _ms(latencies["99"]) if "99" in latencies else None,
        "errors": errors,
    }


def run(
    *,
    base_url: str,
    operation: str,
    fetch_path: str,
    server_pid: int,
    connections: int,
    duration: float,
    run_dir: Path,
) -> dict[str, Any]:
    """One measured run of `operation` ("create" or "fetch") against base_url."""
    tag = uuid.uuid4().hex[:8]
    before = cpu_seconds(server_pid)
    if generator() == "wrk":
        seconds = max(1, round(duration))  # wrk takes whole seconds
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "30s"]
        if operation == "create":
            prefix, suffix = _create_path_parts(tag)
            script = run_dir / f"create-{tag}.lua"
            script.write_text(
                _LUA.format(
                    form=REST_CREATE_FORM,
                    authorization=AUTHORIZATION,
                    prefix=prefix,
                    suffix=suffix,
                    per=PER_CONFERENCE,
                )
            )
            argv += ["-s", str(script), base_url + prefix + "0" + suffix]
        else:
            argv += ["-H", f"Authorization: {AUTHORIZATION}", base_url + fetch_path]
        started = time.monotonic()
        out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=300)
        result = parse_wrk(out.stdout)
    else:
        spec = {
            "base_url": base_url,
            "operation": operation,
            "fetch_path": fetch_path,
            "connections": connections,
            "duration": duration,
            "tag": tag,
        }
        path = run_dir / f"rest-{tag}.json"
        path.write_text(json.dumps(spec))
        started = time.monotonic()
        out = subprocess.run(
            [PYTHON, "-m", "bench.rest", str(path)],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
            timeout=300,
        )
        result = json.loads(out.stdout)
    elapsed = time.monotonic() - started
    result["server_cpu"] = cpu_seconds(server_pid) - before
    result["seconds"] = elapsed
    return result


def interleaved_rounds(
    section: str,
    sides: Sequence[tuple[str, str, int]],
    operation: str,
    *,
    fetch_path: str,
    budget: Budget,
    run_dir: Path,
    log: Callable[[str], None],
    after_round: Callable[[int], None] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """One unmeasured warm-up per side, then `budget.rounds` rounds running
    each side (name, base URL, server pid) in turn; results by side."""
    c = budget.rest_connections
    rounds: dict[str, list[dict[str, Any]]] = {side: [] for side, _, _ in sides}
    for _, url, pid in sides:  # warm-up, unmeasured
        run(base_url=url, operation=operation, fetch_path=fetch_path, server_pid=pid,
            connections=c, duration=min(1.0, budget.duration), run_dir=run_dir)  # fmt: skip
    for round_no in range(1, budget.rounds + 1):
        for side, url, pid in sides:
            result = run(base_url=url, operation=operation, fetch_path=fetch_path,
                         server_pid=pid, connections=c, duration=budget.duration,
                         run_dir=run_dir)  # fmt: skip
            rounds[side].append(result)
            log(
                f"[{section}] round {round_no}/{budget.rounds} {operation:<6} {side:<8}"
                f" {result['rps']:8,.0f} req/s  p99 {result['p99_ms'] or 0:7.1f} ms"
                + (f"  errors {result['errors']}" if result["errors"] else "")
            )
        if after_round is not None:
            after_round(round_no)
    return rounds


SECTION = "REST gateway"
BASELINE = "bare aiohttp endpoint parsing the same form and returning the same JSON"
GRPC_BASELINE = "Rollcall's own gRPC Create at the same concurrency, same rounds"


def run_section(
    *,
    rollcall_url: str,
    rollcall_pid: int,
    baseline_url: str,
    baseline_pid: int,
    fetch_path: str,
    budget: Budget,
    run_dir: Path,
    log: Callable[[str], None],
    grpc_create: Callable[[], dict[str, Any]] | None = None,
) -> list[Figure]:
    """`grpc_create` runs one measured gRPC Create round at the same concurrency."""
    figures: list[Figure] = []
    c = budget.rest_connections
    sides = (("baseline", baseline_url, baseline_pid), ("rollcall", rollcall_url, rollcall_pid))
    grpc_rounds: list[dict[str, Any]] = []

    def grpc_round(round_no: int) -> None:
        assert grpc_create is not None
        grpc = grpc_create()
        grpc_rounds.append(grpc)
        log(
            f"[{SECTION}] round {round_no}/{budget.rounds} create gRPC     "
            f" {grpc['rps']:8,.0f} req/s  p99 {grpc['p99_ms'] or 0:7.1f} ms"
        )

    for operation in ("create", "fetch"):
        with_grpc = operation == "create" and grpc_create is not None
        rounds = interleaved_rounds(
            SECTION, sides, operation, fetch_path=fetch_path, budget=budget,
            run_dir=run_dir, log=log, after_round=grpc_round if with_grpc else None,
        )  # fmt: skip
        rounds["grpc"] = grpc_rounds if with_grpc else []
        rc, base = rounds["rollcall"], rounds["baseline"]
        name = f"{operation.capitalize()} c={c} ({generator()})"
        errors = sum(r["errors"] for r in rc)
        note = f"non-2xx or socket errors: Rollcall {errors}" if errors else ""
        # The goal against the bare endpoint is Fetch's; what the gateway adds
        # to a Create is judged against gRPC Create (below).
        goal = Goal(">=", 0.75) if operation == "fetch" else REPORTED
        figures += [
            Figure(SECTION, f"{name} req/s", "req/s", BASELINE,
                   [r["rps"] for r in rc], [r["rps"] for r in base], goal, note),
            Figure(SECTION, f"{name} p99", "ms", BASELINE,
                   [r["p99_ms"] for r in rc], [r["p99_ms"] for r in base]),
            Figure(SECTION, f"{name} server CPU per 1,000 requests", "s", BASELINE,
                   [r["server_cpu"] / max(r["requests"], 1) * 1000 for r in rc],
                   [r["server_cpu"] / max(r["requests"], 1) * 1000 for r in base]),
        ]  # fmt: skip
        if rounds["grpc"]:
            note = "what the gateway costs: both sides are Rollcall, REST through the gateway"
            figures.append(
                Figure(
                    SECTION,
                    f"Create c={c}: REST ({generator()}) req/s vs gRPC",
                    "req/s",
                    GRPC_BASELINE,
                    [r["rps"] for r in rc],
                    [r["rps"] for r in rounds["grpc"]],
                    Goal(">=", 0.9),
                    note,
                )
            )
    return figures


async def _drive(spec: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    duration = float(spec["duration"])
    headers = {"Authorization": AUTHORIZATION}
    prefix, suffix = _create_path_parts(spec["tag"])
    latencies: list[float] = []
    errors = 0
    counter = itertools.count()
    connector = aiohttp.TCPConnector(limit=int(spec["connections"]))
    async with aiohttp.ClientSession(spec["base_url"], connector=connector) as session:
        end = time.perf_counter() + duration

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < end:
                sent = time.perf_counter()
                if spec["operation"] == "create":
                    path = f"{prefix}{next(counter) // PER_CONFERENCE}{suffix}"
                    request = session.post(
                        path,
                        data=REST_CREATE_FORM,
                        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
                    )
                else:
                    request = session.get(spec["fetch_path"], headers=headers)
                async with request as response:
                    await response.read()
                    if response.status >= 300:
                        errors += 1
                latencies.append(time.perf_counter() - sent)

        await asyncio.gather(*(worker() for _ in range(int(spec["connections"]))))
    latencies.sort()
    return {
        "rps": len(latencies) / duration,
        "requests": len(latencies),
        "p50_ms": percentile(latencies, 50) * 1000 if latencies else None,
        "p99_ms": percentile(latencies, 99) * 1000 if latencies else None,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("spec", type=Path)
    args = parser.parse_args()
    result = asyncio.run(_drive(json.loads(args.spec.read_text())))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
