"""Ten identical "add user" requests at once (a double click, a retrying proxy) add one user;
the others are told the address is taken. Each thread is a real request on its own connection,
with real commits, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.extensions import db
from tests import factories
from tests.support import sign_in

pytestmark = pytest.mark.real_commits

REQUESTS = 10


def test_ten_identical_add_user_requests_at_once_add_one_user(any_app):
    app = any_app
    with app.app_context():
        organization = factories.org()
        admin_email = factories.user(organization, "global_admin", email="ada@contoso.example.com").email
        db.session.commit()
    clients = [sign_in(app, admin_email) for _ in range(REQUESTS)]
    data = {"name": "Nora New", "email": "nora@contoso.example.com", "role": "billing_admin", "locale": "en",
            "password": "a-long-temporary-password"}
    start = threading.Barrier(REQUESTS, timeout=10)
    answers: list = [None] * REQUESTS

    def post(index):
        start.wait()
        try:
            response = clients[index].post("/users", data=data)
            answers[index] = (response.status_code, response.get_data(as_text=True))
        except BaseException as error:  # noqa: BLE001  (reported by the test)
            answers[index] = (None, repr(error))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request is stuck"

    statuses = sorted(str(status) for status, _ in answers)
    assert statuses == ["302"] + ["422"] * (REQUESTS - 1), [(s, body[-300:]) for s, body in answers if s != 422]
    for status, body in answers:
        if status == 422:
            assert "A user with this email already exists." in body
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "nora@contoso.example.com")) == 1
