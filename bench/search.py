"""Benchmark: searching the claims list at scale on PostgreSQL, with a directory the size of the
real one (100,000 tenants, about 295,000 domains, 1,000 organizations), which the list benchmark's
five demo tenants do not have.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/wt_search_bench \\
        .venv/bin/python -m bench.search fill      # empties it, then fills it
    ... bench_search measure                                         # timings, statements, plans

Not a test (timings belong here, not in the suite). ``fill`` builds the schema with the
migrations of the code it runs; ``measure`` reads whatever schema is there, so one fill serves
a measure before a migration and another after ``flask db upgrade``.
"""
from __future__ import annotations

import os
import statistics
import sys
import time

from sqlalchemy import event, select, text

from portal import create_app
from portal.accounts.models import User
from portal.claims.listing import claims as listing
from portal.extensions import db

URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/wt_search_bench")
CLAIMS = int(os.environ.get("BENCH_CLAIMS", "1000000"))
TENANTS = int(os.environ.get("BENCH_TENANTS", "100000"))
ORGANIZATIONS = int(os.environ.get("BENCH_ORGANIZATIONS", "1000"))
REPEAT = 9

# A tenant's name is two common words and a word of its own ("Global Consulting Bakemino"),
# so a search can be common (a word shared by thousands of tenants), middling (the start of
# a tenant's own word, shared by a few hundred) or rare (one tenant's own word).
DIRECTORY = """
INSERT INTO organizations (slug, name)
SELECT 'bench-org-' || g, 'Bench Partner ' || g FROM generate_series(1, :orgs - 2) AS g;
INSERT INTO mpns (mpn_id, organization_id, location, partner_type, incentives_enrolled)
SELECT (9000000 + o.id)::text, o.id, 'Paris', 'Solution partner', true
FROM organizations o WHERE NOT EXISTS (SELECT 1 FROM mpns m WHERE m.organization_id = o.id);
CREATE TEMP TABLE bench_words AS
SELECT g,
       (ARRAY['Global','Blue','Northern','Pacific','Atlas','Summit','Silver','Bright','Prime','Urban',
              'Green','Royal','Alpine','Coastal','United','First','Golden','Eastern','Western','Central',
              'Quantum','Vertex','Nova','Apex','Harbor','Maple','Cedar','River','Lake','Stone',
              'Iron','Crystal','Solar','Lunar','Metro','Civic','Delta','Sigma','Omega','Orion'])[1 + g % 40] AS w1,
       (ARRAY['Consulting','Systems','Foods','Energy','Logistics','Health','Retail','Media','Labs','Partners',
              'Holdings','Industries','Bank','Insurance','Motors','Pharma','Studios','Textiles','Airlines','Hotels',
              'Builders','Farms','Telecom','Software','Traders'])[1 + (g / 40) % 25] AS w2,
       s[1 + g % 20] || s[1 + (g / 20) % 20] || s[1 + (g / 400) % 20] || s[1 + (g / 8000) % 20] AS own
FROM generate_series(0, :tenants - 1) AS g,
     (SELECT ARRAY['ba','ke','mi','no','ru','sa','te','vi','zo','lu','pa','ge','di','fo','ha','ji','ky','we','xo','qu'] AS s) AS syllables;
INSERT INTO tenants (tenant_id, name)
SELECT (md5('tenant' || g))::uuid::text, w1 || ' ' || w2 || ' ' || initcap(own) FROM bench_words;
INSERT INTO tenant_domains (domain, tenant_id)
SELECT d, (md5('tenant' || g))::uuid::text FROM bench_words,
       LATERAL (VALUES (own || '.com'), (own || '.onmicrosoft.com'),
                       (CASE WHEN g % 20 <> 0 THEN lower(w1) || own || '.fr' END)) AS v(d)
WHERE d IS NOT NULL;
"""

# the list benchmark's claims, spread over the whole directory: one organization in ten claims is
# Fabrikam (the demo partner, a large one: a tenth of every claim), the rest go round every
# organization; each tenant has about ten claims, each product a share.
CLAIM_FILL = """
CREATE TEMP TABLE bench_orgs AS
SELECT row_number() OVER (ORDER BY o.id) - 1 AS n, o.id, (SELECT min(m.id) FROM mpns m WHERE m.organization_id = o.id) AS mpn
FROM organizations o;
CREATE TEMP TABLE bench_tenants AS SELECT row_number() OVER (ORDER BY tenant_id) - 1 AS n, tenant_id, name FROM tenants;
CREATE TEMP TABLE bench_products AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, solution_area FROM products;
CREATE INDEX ON bench_orgs (n); CREATE INDEX ON bench_tenants (n); CREATE INDEX ON bench_products (n);
ANALYZE bench_orgs; ANALYZE bench_tenants; ANALYZE bench_products;
INSERT INTO claims (organization_id, created_by_id, status, solution_area, tenant_id, customer_name, product_id, subscription_id,
                    activity, mpn_pk, in_arbitration, draft, created_at, submitted_at, updated_at, status_changed_at,
                    due_on, dispute_used)
SELECT o.id, NULL,
       (ARRAY['submitted','under_review','partner_action_required','approved','rejected','disputed','closed'])[1 + (g % 7)],
       p.solution_area, t.tenant_id, t.name, p.id, NULL,
       (ARRAY['presales','usage','revenue_association'])[1 + (g % 3)],
       o.mpn, (g % 50 = 0), '{}', now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval, now(),
       now() - (g || ' minutes')::interval, (now() + ((g % 40) - 20 || ' days')::interval)::date, false
FROM generate_series(1, :n) AS g
JOIN bench_orgs o ON o.n = CASE WHEN g % 10 = 0 THEN (SELECT n FROM bench_orgs b JOIN organizations x ON x.id = b.id
                                                                 WHERE x.slug = 'fabrikam') ELSE (g / 10) % :orgs END
JOIN bench_tenants t ON t.n = (g::bigint * 7919) % :tenants
JOIN bench_products p ON p.n = g % (SELECT count(*) FROM bench_products);
"""


def _app():
    return create_app({"SQLALCHEMY_DATABASE_URI": URL, "SECRET_KEY": "bench", "TESTING": True})


def fill() -> None:
    app = _app()
    with app.app_context():
        from flask_migrate import upgrade

        from portal.directory.importer import import_directory, load_file

        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        import_directory(load_file("portal/directory/demo.json"))
        db.session.commit()
        db.session.execute(text("DROP INDEX uq_claims_open_per_org"))
        started = time.perf_counter()
        for statement in filter(str.strip, DIRECTORY.split(";\n")):
            db.session.execute(text(statement), {"orgs": ORGANIZATIONS, "tenants": TENANTS})
        db.session.commit()
        print(f"directory: {ORGANIZATIONS:,} organizations, {TENANTS:,} tenants in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        for statement in filter(str.strip, CLAIM_FILL.split(";\n")):
            db.session.execute(text(statement), {"orgs": ORGANIZATIONS, "tenants": TENANTS + 5, "n": CLAIMS})
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        counts = db.session.execute(text(
            "SELECT (SELECT count(*) FROM claims), (SELECT count(*) FROM tenants), (SELECT count(*) FROM tenant_domains),"
            " (SELECT count(*) FROM organizations)")).one()
        print(f"filled {counts[0]:,} claims, {counts[1]:,} tenants, {counts[2]:,} domains, {counts[3]:,} organizations"
              f" in {time.perf_counter() - started:.1f} s")


#: (label, search term): common, middling and rare names, a domain, a product, a claim number.
TERMS = (
    ("common name 'consulting'", "consulting"),
    ("middling name 'bake' (~250 tenants)", "bake"),
    ("rare name 'kemisaba' (1 tenant)", "kemisaba"),
    ("domain 'bakemino.com'", "bakemino.com"),
    ("domain suffix 'onmicrosoft' (every tenant)", "onmicrosoft"),
    ("product 'field service'", "field service"),
    ("claim number 'CPOR-000500'", "CPOR-000500"),
    ("no match 'zzzzqx'", "zzzzqx"),
)


def measure() -> None:
    app = _app()
    with app.app_context():
        partner = db.session.scalar(select(User).where(User.email == "gina@fabrikam.example"))
        reviewer = db.session.scalar(select(User).where(User.email == "rita@review.example"))
        statements: list[tuple[str, object]] = []
        sql_ms: list[float] = []
        started: list[float] = []
        event.listen(db.engine, "before_cursor_execute", lambda conn, cur, stmt, params, *a: (
            statements.append((stmt, params)), started.append(time.perf_counter())))
        event.listen(db.engine, "after_cursor_execute", lambda *a: sql_ms.append((time.perf_counter() - started.pop()) * 1000))
        plans = "--plans" in sys.argv
        only = [a for a in sys.argv[2:] if not a.startswith("--")]
        for arg in sys.argv[2:]:
            if arg.startswith("--ids-max="):
                listing.SEARCH_IDS_MAX = int(arg.split("=", 1)[1])
        for who, user in (("partner", partner), ("reviewer", reviewer)):
            for label, term in TERMS:
                if only and not any(o in label for o in only):
                    continue
                lq = listing.ListQuery(q=term)
                tenants = matched(term)
                timings, in_sql = [], []
                for _ in range(REPEAT):
                    db.session.expire_all()
                    statements.clear()
                    sql_ms.clear()
                    start = time.perf_counter()
                    result = listing.page(user, lq)
                    timings.append((time.perf_counter() - start) * 1000)
                    in_sql.append(sum(sql_ms))
                timings.sort()
                count = len(statements)
                ran = list(statements)
                server = sorted(server_ms(ran) for _ in range(REPEAT))
                print(f"{who:<8} {label:<46} {tenants:6d} tenants median {statistics.median(timings):7.1f} ms  max {timings[-1]:7.1f} ms  (SQL {statistics.median(in_sql):5.1f} ms)"
                      f"  PostgreSQL median {statistics.median(server):6.2f} ms max {server[-1]:6.2f} ms"
                      f"  {count:2d} statements  {len(result.claims):2d} rows")
                if plans:
                    explain(ran)


def matched(term: str) -> int:
    """How many tenants a term matches by name or domain (what the search resolves)."""
    pattern = listing._like_pattern(term)
    return db.session.execute(text(
        "SELECT count(*) FROM (SELECT tenant_id FROM tenants WHERE lower(name) LIKE :p"
        " UNION SELECT tenant_id FROM tenant_domains WHERE lower(domain) LIKE :p) AS t"), {"p": pattern}).scalar()


def server_ms(statements) -> float:
    """PostgreSQL's own time (planning and execution, EXPLAIN ANALYZE) for a page's statements:
    what the page costs the database, unlike wall-clock times on a shared machine."""
    connection = db.session.connection()
    total = 0.0
    for statement, params in list(statements):
        if not statement.lstrip().upper().startswith("SELECT"):
            continue
        plan = connection.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params).scalar()[0]
        total += plan["Planning Time"] + plan["Execution Time"]
    return total


def explain(statements) -> None:
    """The plan of each statement that searches (claims, tenants, domains, products), as run."""
    connection = db.session.connection()
    for statement, params in list(statements):
        if not any(f"FROM {table}" in statement for table in ("claims", "tenants", "tenant_domains", "products")):
            continue
        if "IN (__[POSTCOMPILE" in statement or statement.lstrip().upper().startswith("SELECT CLAIMS.STATUS"):
            continue
        plan = connection.exec_driver_sql("EXPLAIN ANALYZE " + statement, params).scalars().all()
        print("    " + "\n    ".join(plan) + "\n")


if __name__ == "__main__":
    {"fill": fill, "measure": measure}[sys.argv[1]]()
