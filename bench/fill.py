"""Fills the scratch database: the app's migrations, then set-based SQL (INSERT … SELECT
generate_series), so a million claims take minutes.

The spread, deterministic for given sizes (``r(x, salt)`` is a hash of x in [0, 1)):
- organizations 1..O, each with 2 MPN IDs and 4 users (global, incentives and billing admins,
  a sales agent); organization sizes are skewed (organization 1 holds about 3 % of all claims
  at 1,000 organizations), so "a large organization" exists;
- tenants named from word lists: the first word is skewed, so CONTOSO appears in about one tenant
  name in seven (a common search), ZEPHYRINE in one tenant in 25,000 (a rare one); 2 or 3 domains;
- subscriptions s: tenant s mod T, one of 11 products; mostly active, some CSP, expired, …;
- claims g: tenant g mod T and product (g div T + g mod T) mod 11, so no two claims share a
  (tenant, product) pair and the open-claim unique index holds; every status, two history
  entries (submitted, then the current status), a comment on one claim in ten; deadlines in the
  future, so nothing is due when the run starts;
- one claim of organization 1 under review with 100 comments and 30 history entries; drafts of
  organization 1's incentives admin for the wizard's inline checks.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict

from sqlalchemy import create_engine, text

from bench.settings import ROOT, Fill, Settings

PASSWORD = "bench-password-1"
FIRST = ["Contoso", "Northwind", "Adventure", "Tailspin", "Wingtip", "Fabrikam", "Proseware", "Litware",
         "Woodgrove", "Lucerne", "Margie", "Alpine", "Blue Yonder", "Coho", "Consolidated", "Fourth Coffee",
         "Graphic", "Humongous", "Trey", "Wide World", "Southridge", "Datum", "Relecloud", "Munson",
         "Bellows", "Lamna", "Tasmanian", "VanArsdel", "Woodland", "Nod", "Boulder", "Cedar", "Harbor",
         "Maple", "Summit", "Granite", "Silver", "Golden", "Eastfield", "Westbrook"]
SECOND = ["Traders", "Cycles", "Toys", "Bank", "Insurance", "Publishing", "Winery", "Airlines", "Foods",
          "Logistics", "Health", "Energy", "Motors", "Pharma", "Systems", "Retail", "Hotels", "Media",
          "Textiles", "Farms", "Studios", "Partners", "Labs", "Works", "Group"]
SUFFIX = ["Ltd", "Inc.", "GmbH", "SA", "SARL", "BV", "AB", "Pty", "LLC", "plc"]
COMMON = "contoso"
RARE = "zephyrine"
EXPORT_MIN_ROWS = 1


def r(expr: str, salt: str) -> str:
    """A deterministic hash of ``expr`` in [0, 1)."""
    return f"((hashtext(({expr})::text || '{salt}')::bigint + 2147483648)::float8 / 4294967296)"


def _array(values) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _products() -> list[dict]:
    data = json.loads((ROOT / "portal/directory/demo.json").read_text())
    return sorted(data["products"], key=lambda p: p["id"])


def statements(f: Fill, password_hash: str) -> list[tuple[str, str]]:
    O, T, S, N, R = f.organizations, f.tenants, f.subscriptions, f.claims, f.reviewers
    products = _products()
    P, PA = _array(p["id"] for p in products), _array(p["solution_area"] for p in products)
    NP = len(products)
    reviewer0 = 4 * O  # reviewers are users 4*O+1 .. 4*O+R
    status = f"""CASE WHEN rs < 0.001 THEN 'draft' WHEN rs < 0.10 THEN 'submitted' WHEN rs < 0.20 THEN 'under_review'
                 WHEN rs < 0.25 THEN 'partner_action_required' WHEN rs < 0.62 THEN 'approved'
                 WHEN rs < 0.70 THEN 'rejected' WHEN rs < 0.72 THEN 'disputed' ELSE 'closed' END"""
    return [
        ("organizations", f"""
            INSERT INTO organizations (id, slug, name)
            SELECT i, 'org-' || i, ({_array(FIRST)})[1 + i % {len(FIRST)}] || ' ' || ({_array(['Consulting', 'Solutions', 'Digital', 'IT Services', 'Cloud'])})[1 + i % 5] || ' ' || i
            FROM generate_series(1, {O}) i"""),
        ("mpns", f"""
            INSERT INTO mpns (id, mpn_id, organization_id, location, partner_type, incentives_enrolled)
            SELECT m, (1000000 + m)::text, (m + 1) / 2, 'Paris, France', 'Solutions Partner', m % 2 = 1
            FROM generate_series(1, {2 * O}) m"""),
        ("users", f"""
            INSERT INTO users (id, email, name, password_hash, kind, organization_id, role, locale, active, created_at)
            SELECT u, (ARRAY['admin', 'incentives', 'billing', 'sales'])[1 + (u - 1) % 4] || '@org-' || ((u - 1) / 4 + 1) || '.example',
                   'User ' || u, :hash, 'partner', (u - 1) / 4 + 1,
                   (ARRAY['global_admin', 'incentives_admin', 'billing_admin', 'sales_agent'])[1 + (u - 1) % 4], 'en', true, now()
            FROM generate_series(1, {4 * O}) u
            UNION ALL
            SELECT {reviewer0} + k, 'reviewer-' || k || '@review.example', 'Reviewer ' || k, :hash, 'reviewer',
                   NULL, NULL, 'en', true, now()
            FROM generate_series(1, {R}) k"""),
        ("tenant names", f"""
            CREATE TABLE bench_tenants AS
            SELECT i, md5('tenant' || i)::uuid::text AS tenant_id, name,
                   lower(regexp_replace(name, '[^A-Za-z]', '', 'g')) || i AS slug
            FROM (SELECT i, CASE WHEN i % 25000 = 1234 THEN 'Zephyrine'
                                 ELSE ({_array(FIRST)})[1 + floor({len(FIRST)} * power({r('i', 'f')}, 2))::int] END
                            || ' ' || ({_array(SECOND)})[1 + floor({len(SECOND)} * {r('i', 's')})::int]
                            || ' ' || ({_array(SUFFIX)})[1 + i % {len(SUFFIX)}] AS name
                  FROM generate_series(0, {T - 1}) i) named;
            ALTER TABLE bench_tenants ADD PRIMARY KEY (i)"""),
        ("tenants", "INSERT INTO tenants (tenant_id, name) SELECT tenant_id, name FROM bench_tenants"),
        ("tenant domains", f"""
            INSERT INTO tenant_domains (domain, tenant_id)
            SELECT slug || d.suffix, tenant_id FROM bench_tenants
            JOIN (VALUES ('.onmicrosoft.com', 0), ('.com', 0), ('.fr', 1)) AS d(suffix, odd) ON d.odd = 0 OR i % 2 = 1"""),
        ("products", "INSERT INTO products (id, name, solution_area) VALUES "
         + ", ".join("('{id}', '{name}', '{solution_area}')".format(**p) for p in products)),
        ("subscriptions", f"""
            INSERT INTO subscriptions (subscription_id, tenant_id, product_id, channel, status, start_date, end_date)
            SELECT md5('sub' || s)::uuid::text, md5('tenant' || (s % {T}))::uuid::text,
                   ({P})[1 + (s / {T} + s % {T}) % {NP}],
                   (ARRAY['volume_licensing', 'volume_licensing', 'web_direct', 'csp'])[1 + floor(4 * {r('s', 'c')})::int],
                   CASE WHEN rs < 0.70 THEN 'active' WHEN rs < 0.78 THEN 'in_grace' WHEN rs < 0.85 THEN 'pending_provisioning'
                        WHEN rs < 0.95 THEN 'expired' ELSE 'suspended' END,
                   current_date - floor(700 * rd)::int, current_date - floor(700 * rd)::int + 365
            FROM (SELECT s, {r('s', 'st')} AS rs, {r('s', 'd')} AS rd FROM generate_series(0, {S - 1}) s) x"""),
        ("claims", f"""
            INSERT INTO claims (id, organization_id, created_by_id, status, solution_area, tenant_id, domain, customer_name,
                                product_id, subscription_id, activity, mpn_pk, in_arbitration, draft,
                                customer_contact_name, customer_contact_title, customer_contact_email,
                                partner_contact_name, partner_contact_email, description, acknowledged_on,
                                created_at, submitted_at, updated_at, status_changed_at, approved_on, due_on,
                                reviewer_id, reason_code, dispute_used, consent_state)
            SELECT g + 1, o, 4 * (o - 1) + 1 + g % 3, st, area, bt.tenant_id, bt.slug || '.com', bt.name,
                   ({P})[1 + p], CASE WHEN area = 'business_applications' AND g % 2 = 0 AND g < {S}
                                      THEN md5('sub' || g)::uuid::text END,
                   CASE WHEN area = 'microsoft_365' THEN 'usage'
                        ELSE (ARRAY['presales', 'usage', 'revenue_association'])[1 + floor(3 * ra)::int] END,
                   2 * o - 1 + g % 2, st IN ('submitted', 'under_review') AND ra < 0.02, '{{}}',
                   'Alex Morgan', 'IT Director', 'alex.morgan@' || bt.slug || '.com',
                   'User ' || (4 * (o - 1) + 1), 'admin@org-' || o || '.example',
                   'Deployment and adoption workshops for ' || bt.name || ', with usage reports.',
                   (sub_at - interval '3 days')::date,
                   coalesce(sub_at, now()) - interval '2 days', sub_at, now(),
                   least(now(), sub_at + interval '1 day'),
                   CASE WHEN st = 'approved' THEN (sub_at + interval '5 days')::date END,
                   CASE WHEN st IN ('submitted', 'under_review', 'partner_action_required', 'rejected', 'disputed')
                        THEN current_date + 1 + floor(30 * rd)::int END,
                   CASE WHEN st NOT IN ('draft', 'submitted') THEN {reviewer0} + 1 + g % {R} END,
                   CASE st WHEN 'rejected' THEN 'insufficient_poe' WHEN 'partner_action_required' THEN 'missing_poe' END,
                   st IN ('disputed', 'closed') AND ra < 0.5,
                   CASE WHEN st = 'approved' THEN 'confirmed' END
            FROM (SELECT g, st, o, p, area, ra, rd,
                         CASE WHEN st <> 'draft' THEN now() - make_interval(secs => ({N} - g)::float8 * 63072000 / {N}) END AS sub_at
                  FROM (SELECT g, {status} AS st, least({O}, 1 + floor({O} * power(ro, 2))::int) AS o,
                               (g / {T} + g % {T}) % {NP} AS p, ({PA})[1 + (g / {T} + g % {T}) % {NP}] AS area, ra, rd
                        FROM (SELECT g, {r('g', 'o')} AS ro, {r('g', 'st')} AS rs, {r('g', 'a')} AS ra, {r('g', 'd')} AS rd
                              FROM generate_series(0, {N - 1}) g) h) s) c
            JOIN bench_tenants bt ON bt.i = (c.g % {T})"""),
        ("claim history", """
            INSERT INTO claim_events (claim_id, actor_id, kind, action, from_status, to_status, created_at)
            SELECT id, created_by_id, 'status', 'submit', 'draft', 'submitted', submitted_at
            FROM claims WHERE status <> 'draft'
            UNION ALL
            SELECT id, reviewer_id, 'status',
                   CASE status WHEN 'under_review' THEN 'start_review' WHEN 'partner_action_required' THEN 'request_information'
                               WHEN 'approved' THEN 'approve' WHEN 'rejected' THEN 'reject' WHEN 'disputed' THEN 'dispute'
                               ELSE 'close_dispute_window' END,
                   'submitted', status, status_changed_at
            FROM claims WHERE status NOT IN ('draft', 'submitted')"""),
        ("comments", """
            INSERT INTO comments (claim_id, author_id, kind, body, created_at)
            SELECT id, created_by_id, 'comment', 'Could you confirm the start date of the deployment?', status_changed_at
            FROM claims WHERE status <> 'draft' AND id % 10 = 0"""),
    ]


def thread_and_drafts(conn, f: Fill) -> dict:
    """The claim with the long thread, and drafts for the inline checks. Returns their ids."""
    reviewer = 4 * f.organizations + 1
    claim_id = conn.execute(text(
        "SELECT id FROM claims WHERE organization_id = 1 AND status = 'under_review' ORDER BY id DESC LIMIT 1")).scalar_one()
    conn.execute(text("UPDATE claims SET reviewer_id = :r WHERE id = :c"), {"r": reviewer, "c": claim_id})
    conn.execute(text("DELETE FROM comments WHERE claim_id = :c"), {"c": claim_id})
    conn.execute(text("DELETE FROM claim_events WHERE claim_id = :c"), {"c": claim_id})
    conn.execute(text(f"""
        INSERT INTO comments (claim_id, author_id, kind, body, created_at)
        SELECT :c, CASE WHEN k % 2 = 0 THEN 1 ELSE {reviewer} END, 'comment',
               'Thread message ' || k || ': the usage report for ' || to_char(current_date - k, 'YYYY-MM-DD')
               || ' is attached; see https://example.com/report/' || k || ' for the details.',
               now() - make_interval(hours => {f.thread_comments} - k)
        FROM generate_series(1, {f.thread_comments}) k"""), {"c": claim_id})
    steps = [("status", "submit", "draft", "submitted", 1), ("status", "start_review", "submitted", "under_review", reviewer),
             ("status", "request_information", "under_review", "partner_action_required", reviewer),
             ("edit", None, None, None, 1), ("upload", "add_files", None, None, 1),
             ("status", "resubmit", "partner_action_required", "submitted", 1),
             ("status", "start_review", "submitted", "under_review", reviewer)]
    steps += [("comment", "comment", None, None, 1 if k % 2 == 0 else reviewer)
              for k in range(f.thread_history - len(steps))]
    for n, (kind, action, source, target, actor) in enumerate(steps):
        conn.execute(text("""
            INSERT INTO claim_events (claim_id, actor_id, kind, action, from_status, to_status, reason_code, note, created_at)
            VALUES (:c, :a, :k, :action, :source, :target, :reason, :note, now() - make_interval(hours => :h))"""),
            {"c": claim_id, "a": actor, "k": kind, "action": action, "source": source, "target": target,
             "reason": "missing_poe" if action == "request_information" else None,
             "note": "description" if kind == "edit" else ("usage-report.pdf" if kind == "upload" else None),
             "h": 200 - n})

    # A tenant with an active volume-licensing Dynamics subscription: what a partner types.
    tenant_id, domain, subscription_id = conn.execute(text("""
        SELECT s.tenant_id, (SELECT min(domain) FROM tenant_domains d WHERE d.tenant_id = s.tenant_id), s.subscription_id
        FROM subscriptions s JOIN products p ON p.id = s.product_id
        WHERE p.solution_area = 'business_applications' AND s.channel = 'volume_licensing' AND s.status = 'active'
        ORDER BY s.subscription_id LIMIT 1""")).one()
    draft = json.dumps({"customer": {"tenant_id": [tenant_id], "domain": [domain]}})
    drafts = conn.execute(text("""
        INSERT INTO claims (organization_id, created_by_id, status, in_arbitration, draft, tenant_id, domain, customer_name,
                            created_at, updated_at, dispute_used)
        SELECT 1, 2, 'draft', false, CAST(:draft AS json), CAST(:t AS varchar), CAST(:d AS varchar),
               (SELECT name FROM tenants WHERE tenant_id = CAST(:t AS varchar)),
               now(), now(), false
        FROM generate_series(1, 40) RETURNING id"""), {"draft": draft, "t": tenant_id, "d": domain}).scalars().all()
    return {"thread_claim": claim_id, "reviewer_id": reviewer, "tenant_id": tenant_id, "domain": domain,
            "subscription_id": subscription_id, "drafts": sorted(drafts)}


def _heads() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ",".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def _params(f: Fill) -> str:
    return json.dumps({**asdict(f), "migrations": _heads()}, sort_keys=True)


def ensure_database(settings: Settings) -> None:
    """CREATE DATABASE when it does not exist yet (the server's maintenance database answers)."""
    base = settings.sqlalchemy_url.rsplit("/", 1)[0]
    engine = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": settings.database}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{settings.database}"'))
    finally:
        engine.dispose()


def existing_fill(engine, f: Fill) -> dict | None:
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('public.bench_fill')")).scalar() is None:
            return None
        row = conn.execute(text("SELECT params, info, seconds FROM bench_fill")).first()
    if row is None or row.params != _params(f):
        return None
    return {**json.loads(row.info), "fill_seconds": row.seconds, "reused": True}


def _big_table_indexes(conn, tables) -> list[tuple[str, str]]:
    """Indexes that back no constraint: dropped before the bulk insert and built after, which is
    several times faster than maintaining two dozen indexes row by row."""
    return conn.execute(text("""
        SELECT i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY(:tables) AND t.relnamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)"""), {"tables": list(tables)}).all()


def fill(settings: Settings, log=print) -> dict:
    """A filled database for ``settings.fill``: reused when its parameters match, else rebuilt."""
    from werkzeug.security import generate_password_hash

    ensure_database(settings)
    f = settings.fill
    engine = create_engine(settings.sqlalchemy_url)
    try:
        if not settings.refill:
            info = existing_fill(engine, f)
            if info is not None:
                log(f"reusing the fill in {settings.database} (BENCH_REFILL=1 rebuilds it)")
                return info
        log(f"filling {settings.database}: {f.claims:,} claims, {f.organizations:,} organizations, "
            f"{f.tenants:,} tenants, {f.subscriptions:,} subscriptions")
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        _migrate(settings)
        password_hash = generate_password_hash(PASSWORD, method="scrypt")  # once, for every user
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # no FK triggers per row
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            indexes = _big_table_indexes(conn, ("claims", "subscriptions", "tenant_domains", "claim_events", "comments"))
            for name, _definition in indexes:
                conn.execute(text(f'DROP INDEX "{name}"'))
            for label, sql in statements(f, password_hash):
                step = time.perf_counter()
                params = {"hash": password_hash} if ":hash" in sql else {}
                conn.execute(text(sql), params)
                log(f"  {label:<16} {time.perf_counter() - step:7.1f} s")
            step = time.perf_counter()
            for _name, definition in indexes:
                conn.execute(text(definition))
            log(f"  {'indexes':<16} {time.perf_counter() - step:7.1f} s ({len(indexes)})")
            for table in ("organizations", "mpns", "users", "claims"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
            info = thread_and_drafts(conn, f)
        step = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
        log(f"  {'vacuum analyze':<16} {time.perf_counter() - step:7.1f} s")
        seconds = time.perf_counter() - started
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE bench_fill (params text NOT NULL, info text NOT NULL, seconds float8 NOT NULL,"
                              " filled_at timestamptz NOT NULL DEFAULT now())"))
            conn.execute(text("INSERT INTO bench_fill (params, info, seconds) VALUES (:p, :i, :s)"),
                         {"p": _params(f), "i": json.dumps(info), "s": seconds})
        log(f"filled in {seconds:.0f} s")
        return {**info, "fill_seconds": seconds, "reused": False}
    finally:
        engine.dispose()


def _migrate(settings: Settings) -> None:
    """The schema exactly as production gets it: the app's Alembic migrations."""
    from flask_migrate import upgrade

    from portal import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": settings.sqlalchemy_url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        from portal.extensions import db

        db.engine.dispose()
