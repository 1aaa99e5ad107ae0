"""The lifecycle as a state machine: random actions by random actors, with random reasons and a
moving clock, on one claim in a real database. Whatever happens, a transition succeeds exactly
when the table allows it, a refused one changes nothing, and the history matches the table."""
from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.accounts.permissions import ROLE_PERMISSIONS
from portal.claims import lifecycle
from portal.claims.base import REVIEWER_REJECTION_REASONS, ActorKind, ClaimStatus
from portal.claims.labels import INFORMATION_REASONS
from portal.claims.lifecycle import EXPIRY, TRANSITIONS, TransitionRefused
from portal.claims.models import Claim, ClaimEvent
from portal.directory.models import Product, Tenant
from portal.extensions import db
from tests import factories

#: Holidays among the weeks the clock runs through, so deadlines skip some.
HOLIDAYS = frozenset({date(2026, 11, 11), date(2026, 11, 26), date(2026, 11, 27), date(2026, 12, 25), date(2027, 1, 1)})
START = datetime(2026, 11, 2, 9, 30)  # a Monday

#: Who may act: partners of the claim's organization in each role, a deactivated global admin,
#: another organization's global admin, a reviewer, the system and the customer.
ACTORS = (
    "global_admin", "incentives_admin", "billing_admin", "referrals_admin", "sales_agent",
    "inactive_global_admin", "other_org_global_admin", "reviewer", "system", "customer",
)
REASON_CODES = (
    None, "", "insufficient_poe", "other", "duplicate", "competing_claim", "no_partner_response", "withdrawn",
    "missing_poe", "missing_poe,missing_dates", "missing_products,", "missing_poe,bogus", "bogus",
)
MESSAGES = (None, "", "   ", "\n", "Because the PoE is signed.", "Line one\nline two")

CLAIM_COLUMNS = (Claim.status, Claim.due_on, Claim.status_changed_at, Claim.reason_code, Claim.reason_message,
                 Claim.dispute_used, Claim.approved_on)
EVENT_COLUMNS = (ClaimEvent.id, ClaimEvent.kind, ClaimEvent.action, ClaimEvent.from_status, ClaimEvent.to_status,
                 ClaimEvent.reason_code, ClaimEvent.actor_id, ClaimEvent.note, ClaimEvent.created_at)

_REVIEW = ("start_review", "reviewer", None, None)
_REJECT = ("reject", "reviewer", "other", "Not eligible.")
#: Runs start from every status, reached through the table like any other step.
START_PATHS = {
    ClaimStatus.SUBMITTED: [],
    ClaimStatus.UNDER_REVIEW: [_REVIEW],
    ClaimStatus.PARTNER_ACTION_REQUIRED: [_REVIEW, ("request_information", "reviewer", "missing_poe", "Add the PoE.")],
    ClaimStatus.APPROVED: [_REVIEW, ("approve", "reviewer", None, None)],
    ClaimStatus.REJECTED: [_REVIEW, _REJECT],
    ClaimStatus.DISPUTED: [_REVIEW, _REJECT, ("dispute", "billing_admin", None, "Look again.")],
}


def people(app) -> tuple[int, dict[str, int]]:
    """One organization with a user in each role, another organization, and a reviewer."""
    with app.app_context():
        app.config["HOLIDAYS"] = HOLIDAYS
        home, other = factories.org(name="Home"), factories.org(name="Other")
        ids = {role: factories.user(home, role=role).id
               for role in ("global_admin", "incentives_admin", "billing_admin", "referrals_admin", "sales_agent")}
        ids["inactive_global_admin"] = factories.user(home, role="global_admin", active=False).id
        ids["other_org_global_admin"] = factories.user(other, role="global_admin").id
        ids["reviewer"] = factories.reviewer().id
        db.session.add(Product(id="d365-sales", name="Dynamics 365 Sales", solution_area="business_applications"))
        db.session.commit()
        return home.id, ids


def kind_of(actor: str) -> ActorKind:
    return {"system": ActorKind.SYSTEM, "customer": ActorKind.CUSTOMER, "reviewer": ActorKind.REVIEWER}.get(actor, ActorKind.PARTNER)


def table_allows(action, status, actor, user, organization_id, reason_code, message, dispute_used, due_on, now) -> bool:
    """The lifecycle table and SPEC section 5, read independently of ``transition``."""
    t = TRANSITIONS[action]
    kind = kind_of(actor)
    if status not in t.sources or kind != t.actor:
        return False
    if kind == ActorKind.PARTNER:
        granted = ROLE_PERMISSIONS.get(user.role, frozenset()) if user.active else frozenset()
        if user.organization_id != organization_id or t.permission not in granted:
            return False
    text = (message or "").strip()
    if t.reason == "rejection" and (reason_code not in REVIEWER_REJECTION_REASONS or not text):
        return False
    if t.reason == "information":
        codes = [c for c in (reason_code or "").split(",") if c]
        if not codes or not all(c in INFORMATION_REASONS for c in codes) or not text:
            return False
    if t.reason == "required-text" and not text:
        return False
    if action == "dispute" and (dispute_used or (due_on is not None and now.date() > due_on)):
        return False  # once, within the 30 days
    return True


def expected_reason(action, reason_code):
    t = TRANSITIONS[action]
    automatic = {"expire_information_request": "no_partner_response", "lose_arbitration": "competing_claim"}
    if action in automatic:
        return automatic[action]
    if t.close_reason:
        return t.close_reason
    return reason_code if t.reason in ("rejection", "information") else None


def lifecycle_machine(app, done: set[str]):
    """The state machine of one claim of ``app``'s database; ``done`` collects the transitions
    that happened. Each run works in one transaction, rolled back at its end."""
    organization_id, actor_ids = people(app)
    tenants = itertools.count(1)

    class ClaimLifecycle(RuleBasedStateMachine):
        @initialize(start=st.sampled_from(sorted(START_PATHS)))
        def submit_a_claim(self, start):
            self.context = app.test_request_context()
            self.context.push()
            self.now = START
            tenant = Tenant(tenant_id=str(uuid.uuid4()), name=f"Tenant {next(tenants)}")
            db.session.add(tenant)
            author = db.session.get(User, actor_ids["global_admin"])
            self.claim = Claim(organization_id=organization_id, created_by_id=author.id, status=ClaimStatus.DRAFT,
                               draft={}, solution_area="business_applications", tenant_id=tenant.tenant_id,
                               product_id="d365-sales", activity="usage")
            db.session.add(self.claim)
            db.session.flush()
            lifecycle.transition(self.claim, "submit", author, now=self.now)
            db.session.flush()
            self.status = ClaimStatus.SUBMITTED
            self.disputes = 0
            self.seen: dict[int, tuple] = {}
            for action, actor, reason_code, message in START_PATHS[start]:
                self.now += timedelta(hours=5)
                assert self.act(action, actor, reason_code, message)
            assert self.status == start

        def teardown(self):
            if hasattr(self, "context"):
                db.session.rollback()
                db.session.remove()
                self.context.pop()

        # -- what the database says ---------------------------------------------------------

        def db_claim(self):
            return db.session.execute(select(*CLAIM_COLUMNS).where(Claim.id == self.claim.id)).one()

        def db_events(self):
            return db.session.execute(
                select(*EVENT_COLUMNS).where(ClaimEvent.claim_id == self.claim.id).order_by(ClaimEvent.id)
            ).all()

        def event_count(self):
            return db.session.scalar(select(func.count()).select_from(ClaimEvent).where(ClaimEvent.claim_id == self.claim.id))

        # -- steps ------------------------------------------------------------------------

        def act(self, action, actor, reason_code, message) -> bool:
            """Try ``action``; check it succeeded exactly when the table allows it."""
            user = db.session.get(User, actor_ids[actor]) if actor in actor_ids else None
            kind = {"system": ActorKind.SYSTEM, "customer": ActorKind.CUSTOMER}.get(actor)
            claim = self.claim
            allowed = table_allows(action, claim.status, actor, user, organization_id, reason_code, message,
                                   claim.dispute_used, claim.due_on, self.now)
            before, count = self.db_claim(), self.event_count()
            try:
                entry = lifecycle.transition(claim, action, user, actor=kind, reason_code=reason_code, message=message, now=self.now)
            except TransitionRefused:
                assert not allowed, f"{action} by {actor} refused in {before.status} ({reason_code!r}, {message!r})"
                # A query flushes the session first: a change left on the object would show.
                assert self.db_claim() == before, "a refused transition changed the claim"
                assert self.event_count() == count, "a refused transition wrote history"
                return False
            assert allowed, f"{action} by {actor} allowed in {before.status} ({reason_code!r}, {message!r})"
            t = TRANSITIONS[action]
            after = self.db_claim()
            assert after.status == t.target
            assert after.status_changed_at == self.now
            assert after.due_on == lifecycle.due_on_for(t.target, self.now, HOLIDAYS)
            if t.target in (ClaimStatus.REJECTED, ClaimStatus.CLOSED, ClaimStatus.PARTNER_ACTION_REQUIRED):
                assert after.reason_code == expected_reason(action, reason_code)
            if t.target == ClaimStatus.APPROVED:
                assert after.reason_code is None and after.approved_on is not None
            assert self.event_count() == count + 1
            assert (entry.action, entry.from_status, entry.to_status) == (action, before.status, t.target)
            assert entry.actor_id == (user.id if user is not None else None)
            self.status = t.target
            self.disputes += action == "dispute"
            done.add(action)
            return True

        def _this_status(self, data):
            names = sorted(n for n, t in TRANSITIONS.items() if self.claim.status in t.sources)
            return data.draw(st.sampled_from(names), label="action") if names else None

        @rule(action=st.sampled_from(sorted(TRANSITIONS)), actor=st.sampled_from(ACTORS),
              reason_code=st.sampled_from(REASON_CODES), message=st.sampled_from(MESSAGES))
        def any_action_by_anyone(self, action, actor, reason_code, message):
            self.act(action, actor, reason_code, message)

        @rule(data=st.data(), actor=st.sampled_from(ACTORS), reason_code=st.sampled_from(REASON_CODES),
              message=st.sampled_from(MESSAGES))
        def an_action_of_this_status_by_anyone(self, data, actor, reason_code, message):
            action = self._this_status(data)
            if action is not None:
                self.act(action, actor, reason_code, message)

        @rule(data=st.data())
        def the_next_party_acts(self, data):
            """An action the status offers, by an actor of the right kind, mostly with the reason
            it needs, so that runs go far through the table."""
            action = self._this_status(data)
            if action is None:
                return
            t = TRANSITIONS[action]
            kinds = {ActorKind.SYSTEM: ["system"], ActorKind.CUSTOMER: ["customer"], ActorKind.REVIEWER: ["reviewer"],
                     ActorKind.PARTNER: ["global_admin", "incentives_admin", "billing_admin", "other_org_global_admin"]}
            actor = data.draw(st.sampled_from(kinds[t.actor]), label="actor")
            reason_code = None
            if t.reason == "rejection":
                reason_code = data.draw(st.sampled_from([*REVIEWER_REJECTION_REASONS, None]), label="reason")
            elif t.reason == "information":
                reason_code = data.draw(st.sampled_from(["missing_poe", "missing_dates,missing_products", ""]), label="reason")
            message = data.draw(st.sampled_from(["Explained.", None]), label="message") if t.reason else None
            self.act(action, actor, reason_code, message)

        @rule(hours=st.integers(min_value=0, max_value=24 * 40))
        def time_passes(self, hours):
            self.now += timedelta(hours=hours)

        @rule()
        def deadlines_are_applied(self):
            """What ``apply_due`` must do: each passed deadline, at the end of its day."""
            claim = self.claim
            before, count = self.db_claim(), self.event_count()
            expected, status, due = [], claim.status, claim.due_on
            while status in EXPIRY and due is not None and self.now.date() > due:
                when = datetime.combine(due + timedelta(days=1), datetime.min.time())
                expected.append((EXPIRY[status], when))
                status = TRANSITIONS[EXPIRY[status]].target
                due = lifecycle.due_on_for(status, when, HOLIDAYS)
            changed = lifecycle.apply_due(claim, now=self.now)
            assert changed == bool(expected)
            if not expected:
                assert self.db_claim() == before
            applied = [(row.action, row.created_at) for row in self.db_events()[count:]]
            assert applied == expected
            done.update(action for action, _ in expected)
            self.status = status

        # -- invariants -------------------------------------------------------------------

        @invariant()
        def the_claim_and_its_history_agree_with_the_table(self):
            row, events = self.db_claim(), self.db_events()
            assert row.status == self.status

            # Every status entry is a transition of the table, one after the other.
            status = ClaimStatus.DRAFT
            for entry in events:
                assert entry.kind == "status"
                t = TRANSITIONS[entry.action]
                assert entry.from_status in t.sources and entry.to_status == t.target, entry
                assert entry.from_status == status, "the history skips a state"
                status = entry.to_status
            assert status == row.status
            assert [e.created_at for e in events] == sorted(e.created_at for e in events)

            # Append-only: earlier rows unchanged, new ones after them.
            rows = {tuple(entry)[0]: tuple(entry) for entry in events}
            for event_id, seen in self.seen.items():
                assert rows.get(event_id) == seen, "an earlier history row changed or disappeared"
            if self.seen:
                assert all(event_id > max(self.seen) for event_id in set(rows) - set(self.seen))
            self.seen = rows

            # Disputed at most once.
            disputes = sum(e.action == "dispute" for e in events)
            assert disputes == self.disputes <= 1
            assert row.dispute_used == (disputes == 1)

            # The deadline is the one of the status, counted from when the claim entered it.
            assert row.status_changed_at == events[-1].created_at
            assert row.due_on == lifecycle.due_on_for(row.status, row.status_changed_at, HOLIDAYS)

    return ClaimLifecycle


def test_random_actions_by_random_actors_follow_the_table(app):
    done: set[str] = set()
    run_state_machine_as_test(
        lifecycle_machine(app, done),
        settings=settings(max_examples=150, stateful_step_count=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )
    assert len(done) >= 6, f"the runs went nowhere: {sorted(done)}"


# The same machine walked on purpose, so that every transition of the table is shown to happen
# (random runs rarely go far) and the refusals on the way are checked with the same invariants.
SCRIPTS = {
    "withdrawn": ("submitted", [("withdraw", "billing_admin", None, None, False), ("withdraw", "incentives_admin", None, None, True)]),
    "declined": ("submitted", [("decline", "global_admin", None, None, False), ("decline", "customer", None, None, True)]),
    "information, resubmit, approve, disassociate": ("under_review", [
        ("request_information", "reviewer", "missing_poe,bogus", "Add it.", False),
        ("request_information", "reviewer", "missing_poe", "", False),
        ("request_information", "reviewer", "missing_poe,missing_dates", "Add the PoE and dates.", True),
        ("resubmit", "referrals_admin", None, None, False),
        ("resubmit", "other_org_global_admin", None, None, False),
        ("resubmit", "billing_admin", None, None, True),
        ("approve", "reviewer", None, None, True),
        ("disassociate", "billing_admin", None, "No longer their partner.", False),
        ("disassociate", "global_admin", None, "  ", False),
        ("disassociate", "global_admin", None, "No longer their partner.", True),
        ("withdraw", "global_admin", None, None, False),
    ]),
    "no partner response, then the dispute window closes": ("partner_action_required", [
        ("resubmit", "billing_admin", None, None, True),
        ("request_information", "reviewer", "missing_products", "Which products?", True),
        ("time", 24 * 10), ("sweep",),
        ("time", 24 * 31), ("dispute", "billing_admin", None, "Too late?", False), ("sweep",),
    ]),
    "dispute once, rejected after dispute": ("rejected", [
        ("dispute", "billing_admin", None, "", False),
        ("dispute", "billing_admin", None, "Here is why.", True),
        ("approve", "reviewer", None, None, False),
        ("reject_dispute", "reviewer", None, None, False),
        ("reject_dispute", "reviewer", None, "Still not eligible.", True),
        ("dispute", "global_admin", None, "Again.", False),
    ]),
    "approved after dispute, superseded": ("disputed", [
        ("approve_dispute", "billing_admin", None, None, False),
        ("approve_dispute", "reviewer", None, None, True),
        ("supersede", "reviewer", None, None, False),
        ("supersede", "system", None, None, True),
    ]),
    "arbitration": ("under_review", [
        ("lose_arbitration", "reviewer", None, None, True),
        ("time", 24 * 31), ("dispute", "global_admin", None, "Late.", False),
        ("close_dispute_window", "reviewer", None, None, False),
        ("close_dispute_window", "system", None, None, True),
    ]),
    "arbitration won": ("partner_action_required", [
        ("expire_information_request", "reviewer", None, None, False),
        ("win_arbitration", "reviewer", None, None, True),
        ("win_arbitration", "reviewer", None, None, True),
    ]),
}


def walk(machine_class, start, steps, *, strict=True):
    """One run of the machine along ``steps``; with ``strict``, each action must succeed or be
    refused as the script says, and the invariants hold after every step."""
    machine = machine_class()
    try:
        machine.submit_a_claim(start=ClaimStatus(start))
        machine.the_claim_and_its_history_agree_with_the_table()
        for step in steps:
            if step[0] == "time":
                machine.time_passes(step[1])
            elif step[0] == "sweep":
                machine.deadlines_are_applied()
            else:
                succeeded = machine.act(*step[:4])
                assert succeeded is step[4] or not strict, step
            machine.the_claim_and_its_history_agree_with_the_table()
    finally:
        machine.teardown()


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_scripted_runs_follow_the_table(app, name):
    walk(lifecycle_machine(app, set()), *SCRIPTS[name])


def test_the_scripts_make_every_transition_of_the_table(app):
    done: set[str] = set()
    machine_class = lifecycle_machine(app, done)
    for start, steps in SCRIPTS.values():
        walk(machine_class, start, steps)
    assert done | {"submit"} == set(TRANSITIONS)
