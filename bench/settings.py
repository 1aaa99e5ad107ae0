"""What a run does, from the environment. BENCH_QUICK=1 changes the defaults, not the code path."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/cpor_bench"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def _psycopg(url: str) -> str:
    """The SQLAlchemy URL the portal itself would build from DATABASE_URL (portal/config.py)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass(frozen=True)
class Fill:
    """The data set. Stored with the database, so a second run with the same values reuses it."""

    organizations: int
    tenants: int
    subscriptions: int
    claims: int
    reviewers: int = 20
    thread_comments: int = 100
    thread_history: int = 30
    version: int = 1  # bump when the fill's SQL changes, so old fills are not reused

    def check(self) -> None:
        # Each claim gets its own (tenant, product) pair, so the open-claim unique index holds.
        if self.claims > 11 * self.tenants:
            raise SystemExit(f"BENCH_CLAIMS ({self.claims}) may be at most 11 x BENCH_TENANTS ({self.tenants}).")
        if self.organizations < 2 or self.tenants < 10:
            raise SystemExit("BENCH_ORGS must be at least 2 and BENCH_TENANTS at least 10.")


@dataclass(frozen=True)
class Settings:
    quick: bool
    url: str              # postgresql://… as DATABASE_URL takes it
    fill: Fill
    refill: bool
    rounds: int
    seconds: float
    threads: int
    connections: int
    inprocess_repeat: int
    export_rows: int      # the CSV export picks the filter whose row count is closest to this

    @property
    def sqlalchemy_url(self) -> str:
        return _psycopg(self.url)

    @property
    def database(self) -> str:
        return self.url.rsplit("/", 1)[1].split("?", 1)[0]


def load() -> Settings:
    quick = os.environ.get("BENCH_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if quick:
        # A quick fill never overwrites the full one: its own database, next to it.
        base, _, query = url.partition("?")
        url = base + "_quick" + ("?" + query if query else "")
    fill = Fill(
        organizations=_int("BENCH_ORGS", 50 if quick else 1_000),
        tenants=_int("BENCH_TENANTS", 5_000 if quick else 100_000),
        subscriptions=_int("BENCH_SUBSCRIPTIONS", 20_000 if quick else 1_000_000),
        claims=_int("BENCH_CLAIMS", 20_000 if quick else 1_000_000),
    )
    fill.check()
    return Settings(
        quick=quick,
        url=url,
        fill=fill,
        refill=os.environ.get("BENCH_REFILL", "").strip() in {"1", "true", "yes"},
        rounds=_int("BENCH_ROUNDS", 2 if quick else 4),
        seconds=_float("BENCH_SECONDS", 2 if quick else 5),
        threads=_int("BENCH_THREADS", 2),
        connections=_int("BENCH_CONNECTIONS", 20),
        inprocess_repeat=_int("BENCH_INPROCESS_REPEAT", 10 if quick else 50),
        export_rows=_int("BENCH_EXPORT_ROWS", 100_000),
    )
