"""The servers under load: gunicorn, with the settings the portal is deployed with, and the CPU
that its workers and PostgreSQL's backends spend (read from /proc, Linux only)."""
from __future__ import annotations

import http.client
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.settings import ROOT

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
DEFAULT_ARGS = ["--workers", "2", "--worker-class", "sync"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def gunicorn_args() -> tuple[list[str], str]:
    """The same arguments for the portal and the floor, and how to describe them. gunicorn reads
    ``gunicorn.conf.py`` (from the repository root, where it runs) and ``GUNICORN_CMD_ARGS``
    itself, for both servers; the issue's ``-w 2`` sync applies only when neither exists.
    ``BENCH_GUNICORN`` adds arguments on top, e.g. ``--workers 4 --threads 2``."""
    extra = shlex.split(os.environ.get("BENCH_GUNICORN", ""))
    sources = []
    if (ROOT / "gunicorn.conf.py").exists():
        sources.append("gunicorn.conf.py")
    if os.environ.get("GUNICORN_CMD_ARGS"):
        sources.append(f"GUNICORN_CMD_ARGS={os.environ['GUNICORN_CMD_ARGS']}")
    args = ([] if sources else list(DEFAULT_ARGS)) + extra
    described = " + ".join(sources + ([" ".join(args)] if args else [])) or "gunicorn defaults"
    return args, described


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    app: str                 # module:variable
    env: dict
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log: Path | None = None

    def start(self, args: list[str], ready_path: str, timeout: float = 60) -> None:
        self.log = Path(tempfile.mkstemp(prefix=f"bench-{self.name}-", suffix=".log")[1])
        with open(self.log, "wb") as out:
            # Its own process group, so that stop() ends the master and every worker it forked.
            self.process = subprocess.Popen(
                [GUNICORN, *args, "--bind", f"127.0.0.1:{self.port}", self.app],
                cwd=ROOT, env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", ready_path)
                status = conn.getresponse().status
                conn.close()
                if status < 500 and len(self.workers()) >= 1:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 30) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def workers(self) -> list[int]:
        if self.process is None:
            return []
        try:
            path = f"/proc/{self.process.pid}/task/{self.process.pid}/children"
            return [int(pid) for pid in Path(path).read_text().split()]
        except OSError:
            return []


def _ticks(pid: int) -> int | None:
    """utime + stime of a process, in clock ticks."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def postgres_backends(database: str) -> list[int]:
    """The backends connected to ``database`` (their title is "postgres: user database host …")."""
    pids = []
    needle = f" {database} ".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                title = f.read(200)
        except OSError:
            continue
        if title.startswith(b"postgres: ") and needle in title:
            pids.append(int(entry.name))
    return pids


class CpuMeter:
    """CPU seconds spent by a set of processes between two readings. Processes that appear in
    between count from zero; processes that exit in between are lost (rare: workers and pooled
    backends live for the whole run)."""

    def __init__(self, pids):
        self.pids = pids
        self.before = self._read()

    def _read(self) -> dict[int, int]:
        return {pid: t for pid in self.pids() if (t := _ticks(pid)) is not None}

    def seconds(self) -> float:
        after = self._read()
        return sum(t - self.before.get(pid, 0) for pid, t in after.items()) / CLOCK_TICKS
