"""The run: fill (or reuse), measure each endpoint in-process (statements, latency), serve the
portal and the floor under the same gunicorn settings, drive floor and endpoint in turn with wrk
for a few rounds, time a CSV export, and print the table (also written to bench/last-run.md)."""
from __future__ import annotations

import csv
import io
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

from bench import fill as filler
from bench.client import Session, csrf_from_form, csrf_from_page
from bench.load import Request, WrkResult, wrk
from bench.servers import CpuMeter, Server, gunicorn_args, postgres_backends
from bench.settings import ROOT, Settings, load

REPORT = Path(__file__).resolve().parent / "last-run.md"
SQL_TARGET = 8
DEEP_PAGES = 20


@dataclass(frozen=True)
class Endpoint:
    key: str
    label: str
    who: str | None               # partner (global admin), filer (incentives admin), reviewer; None: the floor
    ratio_target: float | None = None
    p99_target_ms: float | None = None      # under wrk -c20
    inprocess_p99_target_ms: float | None = None
    marker: str | None = None     # text the page must hold, checked once before the load
    status: int = 200             # the answer expected (a poll with nothing new: 204, no content)

    def target(self) -> str:
        parts = []
        if self.ratio_target is not None:
            parts.append(f"≥ {self.ratio_target:g}")
        if self.p99_target_ms is not None:
            parts.append(f"p99 ≤ {self.p99_target_ms:g} ms")
        if self.inprocess_p99_target_ms is not None:
            parts.append(f"in-process p99 ≤ {self.inprocess_p99_target_ms:g} ms")
        return ", ".join(parts) or "—"


ENDPOINTS = [
    Endpoint("floor", "floor: bare Flask route, small template, one indexed query", None, marker="Hello,"),
    Endpoint("check_tenant", "wizard inline check, tenant ID", "filer", 0.6, 30),
    Endpoint("check_subscription", "wizard inline check, subscription ID", "filer", 0.6, 30),
    Endpoint("poll", "comment-thread poll, nothing new", "partner", 0.8, status=204),
    Endpoint("claim_partner", "claim page (100 comments, 30 history entries)", "partner", 0.3, marker="Thread message 100:"),
    Endpoint("claim_reviewer", "reviewer's claim page (same claim)", "reviewer", 0.3, marker="Thread message 100:"),
    Endpoint("home", "partner home (large organization)", "partner", 0.3, None, 25),
    Endpoint("list_first", "claims list, first page", "partner", 0.3, None, 25),
    Endpoint("list_deep", f"claims list, page {DEEP_PAGES + 1} (after {DEEP_PAGES} cursors)", "partner", 0.3, None, 25),
    Endpoint("search_common", f"claims list, search customer '{filler.COMMON}'", "partner", 0.2, 50),
    Endpoint("search_rare", f"claims list, search rare name '{filler.RARE}'", "partner", 0.2, 50),
    Endpoint("queue", "review queue", "reviewer", 0.3, None, 25),
]
ACCOUNTS = {"partner": "admin@org-1.example", "filer": "incentives@org-1.example", "reviewer": "reviewer-1@review.example"}


def requests_for(ctx: dict, csrf: str) -> dict[str, Request]:
    """Each endpoint's request, as the browser (htmx) sends it."""
    form = {"Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true", "X-CSRFToken": csrf}
    drafts = ctx["drafts"]
    thread = ctx["thread_claim"]

    def check(step, trigger, fields, chosen):
        paths = [f"/claims/{d}/wizard/{step}/check" for d in chosen]
        return Request(paths[0], "POST", urlencode({**fields, "csrf_token": csrf}),
                       {**form, "HX-Trigger": trigger, "HX-Trigger-Name": trigger,
                        "HX-Current-URL": f"http://127.0.0.1/claims/{chosen[0]}/wizard/{step}"}, paths)

    return {
        "floor": Request("/"),
        "check_tenant": check("customer", "tenant_id", {"tenant_id": ctx["tenant_id"], "domain": ctx["domain"]},
                              drafts[:20]),
        "check_subscription": check("product", "subscription_id",
                                    {"solution_area": "business_applications", "product": "",
                                     "subscription_id": ctx["subscription_id"]}, drafts[20:40]),
        "poll": Request(f"/claims/{thread}/comments?" + urlencode({"after": ctx["last_comment"], "status": ctx["thread_status"]}),
                        headers={"HX-Request": "true", "HX-Trigger": "comment-poller",
                                 "HX-Current-URL": f"http://127.0.0.1/claims/{thread}"}),
        "claim_partner": Request(f"/claims/{thread}"),
        "claim_reviewer": Request(f"/review/claims/{thread}"),
        "home": Request("/"),
        "list_first": Request("/claims/"),
        "list_deep": Request("/claims/?" + urlencode({"after": ctx["deep_cursor"]})),
        "search_common": Request("/claims/?" + urlencode({"q": filler.COMMON})),
        "search_rare": Request("/claims/?" + urlencode({"q": filler.RARE})),
        "queue": Request("/review/"),
    }


# In-process: statements and latency of one request at a time ---------------------------------


@dataclass
class InProcess:
    p50_ms: float
    p99_ms: float
    statements: int
    statuses: set
    sql: list[str] = field(default_factory=list)
    cpu_ms: float = 0.0  # this process's CPU per request (steadier than latency on a busy machine)


def _percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def measure_inprocess(client, engine, request: Request, repeat: int) -> InProcess:
    from sqlalchemy import event

    executed: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        executed.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    timings, counts, statuses, last = [], [], set(), []
    cpu = 0.0
    try:
        for n in range(repeat + 1):  # the first request warms caches and is not counted
            path = request.paths[n % len(request.paths)] if request.paths else request.path
            executed.clear()
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.open(path, method=request.method, data=request.body or None, headers=request.headers)
            response.get_data()
            elapsed = (time.perf_counter() - started) * 1000
            if n:
                cpu += time.process_time() - cpu_started
            statuses.add(response.status_code)
            if n:
                timings.append(elapsed)
                counts.append(len(executed))
                last = list(executed)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return InProcess(_percentile(timings, 50), _percentile(timings, 99), max(counts), statuses, last,
                     cpu * 1000 / repeat)


def profile_inprocess(key: str, client, request: Request, repeat: int, log, top: int = 30) -> None:
    """BENCH_PROFILE=key,…: where the in-process time of those endpoints goes (cProfile), by own
    time and by cumulative time, for finding what to make cheaper."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    for n in range(repeat):
        path = request.paths[n % len(request.paths)] if request.paths else request.path
        profiler.enable()
        client.open(path, method=request.method, data=request.body or None, headers=request.headers).get_data()
        profiler.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
        log(out.getvalue())
    if os.environ.get("BENCH_PROFILE_DUMP"):  # a folder: one pstats file per endpoint
        profiler.dump_stats(os.path.join(os.environ["BENCH_PROFILE_DUMP"], f"{key}.pstats"))


def _test_sign_in(client, email):
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": email, "password": filler.PASSWORD, "csrf_token": csrf_from_form(page),
                                           "next": ""})
    if response.status_code != 302:
        raise RuntimeError(f"in-process sign-in as {email} failed: {response.status_code}")


def prepare_and_measure_inprocess(settings: Settings, info: dict, log) -> tuple[dict, dict[str, InProcess]]:
    """Applies passed deadlines once (as the cron sweep would), finds the deep page's cursor, the
    thread's last comment and the export's filter, then measures every endpoint in-process."""
    os.environ["DATABASE_URL"] = settings.url  # for bench.floor
    from dataclasses import replace as _replace

    from sqlalchemy import select, text

    from bench import floor
    from portal import create_app
    from portal.accounts.models import User
    from portal.claims.lifecycle import sweep
    from portal.claims.listing import claims as listing
    from portal.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": settings.sqlalchemy_url, "SECRET_KEY": secrets.token_hex(16),
                      "TENANT_LOOKUP_LIMIT": "", "MAIL_OUTBOX_DIR": tempfile.mkdtemp(prefix="bench-outbox-")})
    ctx = dict(info)
    with app.app_context():
        started = time.perf_counter()
        changed = sweep()
        db.session.commit()
        log(f"deadline sweep before the run: {changed} claim(s) changed in {time.perf_counter() - started:.1f} s")
        partner = db.session.scalar(select(User).where(User.email == ACCOUNTS["partner"]))
        lq = listing.ListQuery()
        for _ in range(DEEP_PAGES):
            lq = _replace(lq, after=listing.page(partner, lq).next_cursor or "")
        ctx["deep_cursor"] = lq.after
        ctx["last_comment"] = db.session.scalar(text("SELECT max(id) FROM comments WHERE claim_id = :c"),
                                                {"c": info["thread_claim"]})
        ctx["thread_status"] = db.session.scalar(text("SELECT status FROM claims WHERE id = :c"), {"c": info["thread_claim"]})
        counts = dict(db.session.execute(text("SELECT status, count(*) FROM claims WHERE status <> 'draft' GROUP BY status")).all())
        choices = [("", sum(counts.values()))] + sorted(counts.items())
        ctx["export_status"], ctx["export_rows"] = min(choices, key=lambda c: abs(c[1] - settings.export_rows))
        ctx["claims_total"] = db.session.scalar(text("SELECT count(*) FROM claims"))
        engine = db.engine

    results = {}
    clients = {}
    for who, email in ACCOUNTS.items():
        clients[who] = app.test_client()
        _test_sign_in(clients[who], email)
    page = clients["filer"].get(f"/claims/{info['drafts'][0]}/wizard/customer").get_data(as_text=True)
    requests = requests_for(ctx, csrf_from_page(page))
    for endpoint in ENDPOINTS:
        if endpoint.who is None:
            client, used = floor.app.test_client(), floor.engine
        else:
            client, used = clients[endpoint.who], engine
        results[endpoint.key] = measure_inprocess(client, used, requests[endpoint.key], settings.inprocess_repeat)
        r = results[endpoint.key]
        log(f"  in-process {endpoint.key:<20} p50 {r.p50_ms:7.1f} ms  p99 {r.p99_ms:7.1f} ms  CPU {r.cpu_ms:5.1f} ms"
            f"  {r.statements:2d} statements"
            f"  status {sorted(r.statuses)}")
        if os.environ.get("BENCH_SHOW_SQL"):
            for statement in r.sql:
                log("      " + " ".join(statement.split())[:300])
        if endpoint.key in os.environ.get("BENCH_PROFILE", "").split(","):
            profile_inprocess(endpoint.key, client, requests[endpoint.key], settings.inprocess_repeat, log)
    floor.engine.dispose()
    with app.app_context():
        db.engine.dispose()
    return ctx, results


# Under load ------------------------------------------------------------------------------------


@dataclass
class Run:
    wrk: WrkResult
    worker_ms: float   # worker CPU per request
    pg_ms: float       # PostgreSQL backends' CPU per request


@dataclass
class Row:
    endpoint: Endpoint
    runs: list[Run] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)


def measured(server: Server, database: str, port: int, request: Request, settings: Settings) -> Run:
    workers = CpuMeter(server.workers)
    backends = CpuMeter(lambda: postgres_backends(database))
    result = wrk(port, request, settings.seconds, settings.threads, settings.connections)
    n = max(result.requests, 1)
    return Run(result, workers.seconds() * 1000 / n, backends.seconds() * 1000 / n)


def verify(session: Session, endpoint: Endpoint, request: Request) -> None:
    """One request before the load: a 200 with what the page must show, or the run stops (a
    redirect to the sign-in page would otherwise be measured as a very fast page)."""
    path = request.paths[0] if request.paths else request.path
    status, _, body = session.request(request.method, path, request.body, request.headers)
    if status != endpoint.status or (endpoint.marker and endpoint.marker not in body):
        raise RuntimeError(f"{endpoint.key}: {request.method} {path} answered {status}"
                           + (f" without {endpoint.marker!r}" if endpoint.marker else "") + f"\n{body[:2000]}")


def export(session: Session, ctx: dict) -> dict:
    """The CSV export through the server, streamed to the end: rows per second, and whether the
    file holds every row the filter selects (a worker timeout would cut it short)."""
    query = "?" + urlencode({"status": ctx["export_status"]}) if ctx["export_status"] else ""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", session.port, timeout=600)
    started = time.perf_counter()
    try:
        conn.request("GET", "/claims/export.csv" + query, headers=session.headers())
        response = conn.getresponse()
        status = response.status
        chunks = []
        try:
            while chunk := response.read(1 << 16):
                chunks.append(chunk)
        except (http.client.IncompleteRead, ConnectionError) as error:
            chunks.append(getattr(error, "partial", b""))
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    data = b"".join(chunks).decode("utf-8", errors="replace")
    rows = max(sum(1 for _ in csv.reader(io.StringIO(data, newline=""))) - 1, 0)
    return {"status": status, "rows": rows, "expected": ctx["export_rows"], "seconds": seconds,
            "rows_per_s": rows / seconds if seconds else 0.0, "bytes": len(data),
            "filter": f"status={ctx['export_status']}" if ctx["export_status"] else "none"}


def drive(settings: Settings, ctx: dict, log) -> tuple[dict[str, Row], dict, str]:
    args, described = gunicorn_args()
    secret = secrets.token_hex(32)
    env = {"DATABASE_URL": settings.url, "SECRET_KEY": secret, "PORTAL_ENV": "production",
           # Production counts rate limits in Redis (and refuses to start without it).
           "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
           # The wizard's per-user tenant look-up limit (60 a minute) would answer most checks with
           # "too many look-ups": the benchmark measures the check itself.
           "TENANT_LOOKUP_LIMIT": "", "MAIL_OUTBOX_DIR": tempfile.mkdtemp(prefix="bench-outbox-")}
    portal = Server("portal", "wsgi:app", env)
    floor = Server("floor", "bench.floor:app", {"DATABASE_URL": settings.url})
    rows = {e.key: Row(e) for e in ENDPOINTS}
    try:
        portal.start(args, "/healthz")
        floor.start(args, "/")
        log(f"portal on 127.0.0.1:{portal.port} (log {portal.log}), floor on 127.0.0.1:{floor.port}; gunicorn {described}")
        sessions = {}
        for who, email in ACCOUNTS.items():
            sessions[who] = Session(portal.port)
            sessions[who].sign_in(email, filler.PASSWORD)
        csrf = sessions["filer"].csrf_header(f"/claims/{ctx['drafts'][0]}/wizard/customer")
        requests = requests_for(ctx, csrf)
        floor_session = Session(floor.port)
        for endpoint in ENDPOINTS:
            session = sessions[endpoint.who] if endpoint.who else floor_session
            requests[endpoint.key].headers = session.headers(requests[endpoint.key].headers)
            verify(session, endpoint, requests[endpoint.key])

        for round_ in range(1, settings.rounds + 1):
            for endpoint in ENDPOINTS[1:]:
                base = measured(floor, settings.database, floor.port, requests["floor"], settings)
                run = measured(portal, settings.database, portal.port, requests[endpoint.key], settings)
                run.wrk.expected_status = endpoint.status
                rows["floor"].runs.append(base)
                rows[endpoint.key].runs.append(run)
                ratio = run.wrk.rps / base.wrk.rps if base.wrk.rps else 0.0
                rows[endpoint.key].ratios.append(ratio)
                log(f"  round {round_}/{settings.rounds} {endpoint.key:<20} {run.wrk.rps:8.1f} req/s "
                    f"(floor {base.wrk.rps:8.1f})  ratio {ratio:6.3f}  p99 {run.wrk.p99_ms:7.1f} ms"
                    + (f"  UNEXPECTED {run.wrk.statuses} socket errors {run.wrk.socket_errors}" if run.wrk.unexpected else ""))
        exported = export(sessions["reviewer"], ctx)
        log(f"  export: {exported['rows']:,} of {exported['expected']:,} rows in {exported['seconds']:.1f} s "
            f"({exported['rows_per_s']:,.0f} rows/s), status {exported['status']}")
        exported["worker_timeout"] = "WORKER TIMEOUT" in portal.log_tail(400)
        if portal.process.poll() is not None or exported["worker_timeout"]:
            log("portal log:\n" + portal.log_tail())
        return rows, exported, described
    finally:
        portal.stop()
        floor.stop()


# The table -------------------------------------------------------------------------------------


def _median(values):
    return statistics.median(values) if values else float("nan")


def table(settings: Settings, ctx: dict, rows: dict[str, Row], inproc: dict[str, InProcess], exported: dict,
          described: str) -> str:
    f = settings.fill
    fill_note = "reused" if ctx.get("reused") else "filled now"
    lines = [
        f"# Benchmark, {'quick' if settings.quick else 'full'} run, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"- data: {ctx['claims_total']:,} claims, {f.organizations:,} organizations, {f.tenants:,} tenants, "
        f"{f.subscriptions:,} subscriptions (database `{settings.database}`, {fill_note}; fill took "
        f"{ctx['fill_seconds']:.0f} s)",
        f"- servers: gunicorn {described}, portal with PORTAL_ENV=production; floor = `bench/floor.py`",
        f"- load: wrk -t{settings.threads} -c{settings.connections}, {settings.rounds} rounds of "
        f"{settings.seconds:g} s, floor and endpoint in turn; medians over rounds",
        f"- in-process: {settings.inprocess_repeat} requests one at a time through the test client",
        f"- machine: {os.cpu_count()} CPUs, load average at the end {os.getloadavg()[0]:.1f}, {platform.python_version()}",
        "",
        "| endpoint | ÷ floor | target | req/s | p50 ms | p99 ms | in-process p50 / p99 ms | SQL / request "
        "| worker CPU ms / req | PostgreSQL CPU ms / req | verdict |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for endpoint in ENDPOINTS:
        row, ip = rows[endpoint.key], inproc[endpoint.key]
        runs = row.runs
        ratio = 1.0 if endpoint.who is None else _median(row.ratios)
        p99 = _median([r.wrk.p99_ms for r in runs])
        misses = []
        if endpoint.ratio_target is not None and ratio < endpoint.ratio_target:
            misses.append("ratio")
        if endpoint.p99_target_ms is not None and p99 > endpoint.p99_target_ms:
            misses.append("p99")
        if endpoint.inprocess_p99_target_ms is not None and ip.p99_ms > endpoint.inprocess_p99_target_ms:
            misses.append("in-process p99")
        if endpoint.who is not None and ip.statements > SQL_TARGET:
            misses.append("SQL")
        if any(r.wrk.requests == 0 for r in runs):
            misses.append("a run completed no request (raise BENCH_SECONDS)")
        unexpected = sum(r.wrk.unexpected for r in runs)
        if unexpected or ip.statuses != {endpoint.status}:
            misses.append(f"NOT {endpoint.status}: {unexpected} under load, in-process {sorted(ip.statuses)}")
        lines.append(
            f"| {endpoint.label} | {ratio:.3f} | {endpoint.target()} | {_median([r.wrk.rps for r in runs]):.0f} "
            f"| {_median([r.wrk.p50_ms for r in runs]):.1f} | {p99:.1f} | {ip.p50_ms:.1f} / {ip.p99_ms:.1f} "
            f"| {ip.statements} | {_median([r.worker_ms for r in runs]):.2f} | {_median([r.pg_ms for r in runs]):.2f} "
            f"| {'ok' if not misses else 'misses ' + ', '.join(misses)} |")
    complete = exported["status"] == 200 and exported["rows"] == exported["expected"]
    lines += [
        "",
        f"CSV export (reviewer, filter {exported['filter']}): {exported['rows']:,} of {exported['expected']:,} rows "
        f"in {exported['seconds']:.1f} s = **{exported['rows_per_s']:,.0f} rows/s** (target ≥ 50,000), "
        f"{'complete' if complete else 'TRUNCATED or failed (status ' + str(exported['status']) + ')'}"
        f"{' (gunicorn killed the worker: WORKER TIMEOUT)' if exported.get('worker_timeout') else ''}; "
        f"{exported['bytes'] / 1e6:.1f} MB.",
        "",
        f"SQL / request: statements of one request, counted in-process (target ≤ {SQL_TARGET}). CPU per request: "
        "utime + stime of the gunicorn workers and of the PostgreSQL backends of this database, from /proc, "
        "divided by the requests wrk completed.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    settings = load()

    def log(message):
        print(message, flush=True)

    started = time.perf_counter()
    info = filler.fill(settings, log)
    ctx, inproc = prepare_and_measure_inprocess(settings, info, log)
    if os.environ.get("BENCH_INPROCESS_ONLY"):
        return 0
    rows, exported, described = drive(settings, ctx, log)
    report = table(settings, ctx, rows, inproc, exported, described)
    REPORT.write_text(report)
    print("\n" + report)
    print(f"(written to {REPORT.relative_to(ROOT)}; the whole run took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
