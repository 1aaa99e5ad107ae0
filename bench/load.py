"""Runs wrk against one endpoint for a fixed time and reads its report."""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

LUA = Path(__file__).resolve().parent / "wrk.lua"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class Request:
    """What one endpoint's load sends: the same request again and again, or paths in turn."""

    path: str
    method: str = "GET"
    body: str = ""
    headers: dict = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    socket_errors: int
    expected_status: int = 200

    @property
    def unexpected(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != self.expected_status) + self.socket_errors


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)([a-z]+)", value).groups()
    return float(number) * _UNITS[unit]


def parse(output: str) -> WrkResult:
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+),", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not done or not rps:
        raise RuntimeError("wrk printed no summary:\n" + output)
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.MULTILINE))
    statuses = {}
    line = re.search(r"^bench-status(.*)$", output, re.MULTILINE)
    for status, count in re.findall(r"(\d+)=(\d+)", line.group(1) if line else ""):
        statuses[int(status)] = int(count)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return WrkResult(
        requests=int(done.group(1)),
        seconds=_ms(done.group(2) + done.group(3)) / 1000,
        rps=float(rps.group(1)),
        p50_ms=_ms(percentiles["50"]),
        p99_ms=_ms(percentiles["99"]),
        statuses=statuses,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def wrk(port: int, request: Request, seconds: float, threads: int, connections: int) -> WrkResult:
    env = {
        **os.environ,
        "BENCH_METHOD": request.method,
        "BENCH_BODY": request.body,
        "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in request.headers.items()),
        "BENCH_PATHS": "\n".join(request.paths),
    }
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "--latency",
               "-s", str(LUA), f"http://127.0.0.1:{port}{request.path}"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse(done.stdout)
