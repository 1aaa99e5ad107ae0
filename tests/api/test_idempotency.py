"""Idempotency-Key on every POST of /api/v1: the first answer replayed for the same request, a 422
for another one, and keys forgotten by the periodic sweep after 24 hours."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from portal.api.models import IdempotencyKey
from portal.claims import tasks as claims_tasks
from portal.extensions import db
from portal.timeutil import utcnow
from tests.api.conftest import GINA, WINGTIP, assert_problem, bearer, person, token_for


def _keys(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(IdempotencyKey.key).where(IdempotencyKey.user_id == person(GINA).id)))


def test_every_post_in_the_document_says_what_a_key_does(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    posts = [operation for operations in document["paths"].values() for method, operation in operations.items()
             if method == "post"]
    assert len(posts) >= 9
    for operation in posts:
        assert "`Idempotency-Key`" in operation["description"] and "idempotency_key_reused" in operation["description"]


def test_a_check_is_answered_once_per_key_too(demo):
    client = demo.test_client()
    headers = bearer(token_for(demo, GINA, scope="read_write"), **{"Idempotency-Key": "check-1"})
    payload = {"tenant_id": WINGTIP, "domain": "wingtiptoys.com"}
    first = client.post("/api/v1/checks/customer", json=payload, headers=headers)
    again = client.post("/api/v1/checks/customer", json=payload, headers=headers)
    assert first.status_code == again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    body = assert_problem(client.post("/api/v1/checks/customer", json={**payload, "domain": "contoso.com"},
                                      headers={**headers, "Accept-Language": "fr"}), 422, "idempotency_key_reused")
    assert body["detail"].startswith("Cette clé") or "Idempotency-Key" in body["detail"]


def test_the_periodic_sweep_forgets_keys_older_than_24_hours(demo):
    client = demo.test_client()
    headers = bearer(token_for(demo, GINA, scope="read_write"))
    payload = {"tenant_id": WINGTIP, "domain": "wingtiptoys.com"}
    for key in ("old", "recent"):
        assert client.post("/api/v1/checks/customer", json=payload, headers={**headers, "Idempotency-Key": key}).status_code == 200
    with demo.app_context():
        db.session.execute(update(IdempotencyKey).where(IdempotencyKey.key == "old")
                           .values(created_at=utcnow() - timedelta(hours=24, minutes=1)))
        db.session.execute(update(IdempotencyKey).where(IdempotencyKey.key == "recent")
                           .values(created_at=utcnow() - timedelta(hours=23, minutes=59)))
        db.session.commit()
    assert _keys(demo) == {"old", "recent"}

    with demo.app_context():
        claims_tasks.sweep_deadlines()  # the periodic job, run in-process here

    assert _keys(demo) == {"recent"}
    # The forgotten key may be used again, for another request; the kept one may not.
    other = {"tenant_id": WINGTIP, "domain": "contoso.com"}
    assert client.post("/api/v1/checks/customer", json=other, headers={**headers, "Idempotency-Key": "old"}).status_code == 200
    assert_problem(client.post("/api/v1/checks/customer", json=other, headers={**headers, "Idempotency-Key": "recent"}),
                   422, "idempotency_key_reused")
