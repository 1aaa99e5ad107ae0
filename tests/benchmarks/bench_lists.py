"""Benchmark: the claims list and the review queue with a million claims on PostgreSQL.

    make bench                      # 1,000,000 claims in the database named by BENCH_DATABASE_URL
    BENCH_CLAIMS=200000 make bench  # fewer

Not a test (timings belong here, not in the suite): it fills a scratch database, then reports
the median time and the number of SQL statements of each list page, and the plan's top node.
"""
from __future__ import annotations

import os
import statistics
import sys
import time

from sqlalchemy import event, select, text

from portal import create_app
from portal.accounts.models import User
from portal.claims import listing
from portal.extensions import db

URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/cpor_bench")
CLAIMS = int(os.environ.get("BENCH_CLAIMS", "1000000"))
REPEAT = 7

FILL = """
INSERT INTO claims (organization_id, created_by_id, status, solution_area, tenant_id, customer_name, product_id, subscription_id,
                    activity, mpn_pk, in_arbitration, draft, created_at, submitted_at, updated_at, status_changed_at,
                    due_on, dispute_used)
SELECT o.id, NULL,
       (ARRAY['submitted','under_review','partner_action_required','approved','rejected','disputed','closed'])[1 + (g % 7)],
       p.solution_area, t.tenant_id, t.name, p.id, NULL,
       (ARRAY['presales','usage','revenue_association'])[1 + (g % 3)],
       (SELECT m.id FROM mpns m WHERE m.organization_id = o.id ORDER BY m.id LIMIT 1),
       (g % 50 = 0), '{}', now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval, now(),
       now() - (g || ' minutes')::interval, (now() + ((g % 40) - 20 || ' days')::interval)::date, false
FROM generate_series(1, :n) AS g
JOIN LATERAL (SELECT id FROM organizations ORDER BY id OFFSET (g % 2) LIMIT 1) o ON true
JOIN LATERAL (SELECT tenant_id, name FROM tenants ORDER BY tenant_id OFFSET (g % 5) LIMIT 1) t ON true
JOIN LATERAL (SELECT id, solution_area FROM products ORDER BY id OFFSET (g % 11) LIMIT 1) p ON true
"""


def main() -> int:
    app = create_app({"SQLALCHEMY_DATABASE_URI": URL, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        from flask_migrate import upgrade

        from portal.directory_import import import_directory, load_file

        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        import_directory(load_file("portal/directory/demo.json"))
        db.session.commit()
        # The partial unique index would refuse the synthetic duplicates: a benchmark-only drop.
        db.session.execute(text("DROP INDEX uq_claims_open_per_org"))
        started = time.perf_counter()
        db.session.execute(text(FILL), {"n": CLAIMS})
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        print(f"filled {CLAIMS:,} claims in {time.perf_counter() - started:.1f} s")

        partner = db.session.scalar(select(User).where(User.email == "gina@fabrikam.example"))
        reviewer = db.session.scalar(select(User).where(User.email == "rita@review.example"))
        statements = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

        def measure(label, user, lq, pages=1):
            timings = []
            for _ in range(REPEAT):
                statements.clear()
                db.session.expire_all()
                start = time.perf_counter()
                current = lq
                for _page in range(pages):
                    result = listing.page(user, current)
                    if not result.next_cursor:
                        break
                    current = listing.ListQuery(**{**current.__dict__, "after": result.next_cursor})
                timings.append((time.perf_counter() - start) * 1000 / pages)
            print(f"{label:<46} {statistics.median(timings):8.1f} ms/page  {len(statements) // pages:3d} statements/page")

        LQ = listing.ListQuery
        measure("partner: first page, newest", partner, LQ())
        measure("partner: pages 1-20, newest", partner, LQ(), pages=20)
        measure("partner: status filter", partner, LQ(status="partner_action_required"))
        measure("partner: search customer 'contoso'", partner, LQ(q="contoso"))
        measure("partner: search claim number", partner, LQ(q="CPOR-000500"))
        measure("partner: due date order", partner, LQ(sort="due"))
        measure("partner: customer order", partner, LQ(sort="customer"))
        measure("partner: due date order, pages 1-20", partner, LQ(sort="due"), pages=20)
        measure("partner: arbitration + activity", partner, LQ(arbitration="yes", activity="usage"))
        measure("reviewer: all claims, newest", reviewer, LQ())
        measure("reviewer: pages 1-20, newest", reviewer, LQ(), pages=20)

        from portal.review import services as review

        timings = []
        for _ in range(REPEAT):
            start = time.perf_counter()
            review.queue(review.QueueFilters())
            timings.append((time.perf_counter() - start) * 1000)
        print(f"{'reviewer queue: first page':<46} {statistics.median(timings):8.1f} ms/page")

        # Deadlines on read: every list first applies the passed ones. With nothing due (a day
        # before every due date here), that must cost the same at a million claims as at ten.
        from datetime import timedelta

        from portal.claims.lifecycle import sweep
        from portal.timeutil import utcnow

        nothing_due = utcnow().date() - timedelta(days=30)
        for label, scope in (("sweep, nothing due: one organization", partner.organization_id),
                             ("sweep, nothing due: every claim (reviewer)", None)):
            timings = []
            for _ in range(REPEAT):
                statements.clear()
                start = time.perf_counter()
                assert sweep(today=nothing_due, organization_id=scope) == 0
                timings.append((time.perf_counter() - start) * 1000)
            print(f"{label:<46} {statistics.median(timings):8.1f} ms       {len(statements):3d} statements")
    return 0


if __name__ == "__main__":
    sys.exit(main())
