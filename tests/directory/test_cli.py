"""``flask --app portal directory import|logins``, through Flask's CLI runner."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.claims.models import Claim
from portal.directory.models import Product, Subscription, Tenant
from portal.extensions import db

# The CLI commits (and rolls back) for real, as it does from a terminal.
pytestmark = pytest.mark.real_commits

DEMO_FILE = Path(__file__).resolve().parents[2] / "portal" / "directory" / "demo.json"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def run(app, *args):
    return app.test_cli_runner().invoke(args=["directory", *args])


def test_import_loads_the_file_and_prints_a_one_line_summary(app):
    result = run(app, "import", str(DEMO_FILE))

    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Directory imported: ")
    assert "products 11 created" in lines[0]
    with app.app_context():
        assert count(Product) == 11
        assert count(Tenant) == 5
        assert count(Claim) == 4
        assert count(User) == 9


def test_import_twice_says_nothing_changed(app):
    run(app, "import", str(DEMO_FILE))

    result = run(app, "import", str(DEMO_FILE))

    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.stdout
    with app.app_context():
        assert count(Claim) == 4


def test_a_bad_file_exits_1_with_the_errors_and_writes_nothing(app, tmp_path):
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    data["subscriptions"][2]["channel"] = "retail"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")

    result = run(app, "import", str(bad))

    assert result.exit_code == 1
    assert "nothing was imported" in result.stderr
    assert (
        'subscriptions[2] (1bcba016-0658-4cc4-bcb2-def2ba4850c4): field "channel": '
        "must be one of volume_licensing, web_direct, csp"
    ) in result.stderr
    assert result.stdout == ""
    with app.app_context():
        assert count(Product) == count(Tenant) == count(Subscription) == count(User) == count(Claim) == 0


def test_a_bad_file_after_a_good_import_changes_nothing(app, tmp_path):
    run(app, "import", str(DEMO_FILE))
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    data["products"][0]["name"] = "Renamed"
    data["reviewers"].append({"email": "gina@fabrikam.example", "name": "Gina", "password": "demo-password"})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")

    result = run(app, "import", str(bad))

    assert result.exit_code == 1
    assert 'reviewers[2] (gina@fabrikam.example): field "email"' in result.stderr
    with app.app_context():
        assert db.session.get(Product, "d365-sales").name == "Dynamics 365 Sales"


def test_malformed_json_exits_1_with_its_position(app, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"products": [}', encoding="utf-8")

    result = run(app, "import", str(broken))

    assert result.exit_code == 1
    assert "not valid JSON" in result.stderr and "line 1" in result.stderr


def test_logins_prints_every_demo_sign_in_with_who_it_is(app):
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))

    result = run(app, "logins", str(DEMO_FILE))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["email", "password", "who"]
    for partner in data["partners"]:
        for user in partner["users"]:
            line = next(line for line in lines if line.startswith(user["email"] + " "))
            assert user["password"] in line
            assert f"{partner['name']} ({user['role']})" in line
    for reviewer in data["reviewers"]:
        line = next(line for line in lines if line.startswith(reviewer["email"] + " "))
        assert line.rstrip().endswith("reviewer") and reviewer["password"] in line
    with app.app_context():
        assert count(User) == 0  # only reads the file
