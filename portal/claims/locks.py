"""Locks that serialise changes to claims on both databases.

PostgreSQL locks rows (``FOR UPDATE``) and keys (advisory locks). SQLite ignores ``FOR UPDATE``
and lets a transaction read until its first write; it has one write lock for the whole
database, so a no-op write taken *before* reading is its row lock, held until commit.

Every change to claims on one customer and product takes the locks in one order, so two
changes never wait for each other in a circle: the customer-and-product key first
(``lock_arbitration``), then the claim's row (``lock_claim``; ``loader.visible_claim`` with
``for_update`` and the sweep go through it).
"""
from __future__ import annotations

import hashlib

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from portal.claims.models import Claim
from portal.extensions import db

#: ``Session.info`` key: the advisory keys this transaction holds (each is taken once).
_HELD = "cpor_arbitration_keys"


def _sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def arbitration_key(tenant_id: str, product_id: str) -> int:
    """A stable signed 64-bit key for one customer and product (PostgreSQL advisory locks take a bigint)."""
    digest = hashlib.blake2b(f"cpor-arbitration:{tenant_id}:{product_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_arbitration(tenant_id: str | None, product_id: str | None) -> None:
    """Serialise every change to who holds open claims on one customer and product, until
    commit, so that the arbitration check (``lifecycle.refresh_arbitration``) of each sees the
    other's committed claim: two organizations submitting at the same moment are both flagged.

    PostgreSQL: a transaction-level advisory lock on the pair (re-entrant; read-committed
    statements after it see what the previous holder committed). SQLite: every caller has
    already written (the claim's own compare-and-set, the organization lock of a submission,
    the import's rows) before it checks, so it holds the database's one write lock."""
    if tenant_id is None or product_id is None or _sqlite():
        return
    key = arbitration_key(tenant_id, product_id)
    held = db.session.info.setdefault(_HELD, set())
    if key in held:  # re-entrant anyway: a transition's own check needs no second round trip
        return
    db.session.execute(select(func.pg_advisory_xact_lock(key)))
    held.add(key)


@event.listens_for(Session, "after_transaction_end")
def _released(session: Session, transaction) -> None:
    """Forget the keys whenever a transaction or savepoint ends: a savepoint rolled back releases
    the advisory locks taken inside it, and taking a held one again is merely redundant."""
    session.info.pop(_HELD, None)


def lock_claim(claim_id: int):
    """Lock one claim for a change, before it is read: returns what it was just before the lock
    was taken (``status``, ``tenant_id``, ``product_id``; None if there is no such claim), so a
    caller can tell a claim that another request moved while this one waited for the lock.

    PostgreSQL: the customer-and-product key, then the row (the caller reads it ``FOR UPDATE``).
    SQLite: a no-op write of the row, which takes the database's write lock; the caller's
    read that follows sees every change committed before it."""
    before = db.session.execute(
        select(Claim.status, Claim.tenant_id, Claim.product_id).where(Claim.id == claim_id)
    ).first()
    if before is None:
        return None
    if _sqlite():
        db.session.execute(
            update(Claim).where(Claim.id == claim_id).values(updated_at=Claim.updated_at)
            .execution_options(synchronize_session=False)
        )
    else:
        lock_arbitration(before.tenant_id, before.product_id)
    return before
