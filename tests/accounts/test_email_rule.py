"""One rule for a person's email address: the directory import accepts exactly what the sign-in
form accepts, and everyone it imports can sign in with their address as the file gives it."""
from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from portal.accounts.forms import AddUserForm, LoginForm
from portal.accounts.imported import PartnerUserRecord
from portal.directory.schema import Problems, read
from portal.directory_import import DirectoryImportError, import_directory
from portal.extensions import db
from tests.support import PASSWORD, sign_in

ADDRESSES = [
    "ann@contoso.example.com",
    "Ann.Lee+claims@Contoso.Example.COM",
    "ann@xn--mnchen-3ya.de",  # a punycode domain: stored as münchen.de
    "ann@münchen.de",
    "ann@fabrikam.test",  # special-use domains
    "ann@fabrikam.local",
    "ann@fabrikam.invalid",
    "ann@localhost",
    "ann@[192.0.2.1]",
    '"ann lee"@contoso.example.com',
    "Ann <ann@contoso.example.com>",
    "ann..lee@contoso.example.com",
    "ann.contoso.example.com",
]


def import_accepts(address) -> bool:
    problems = Problems()
    read(PartnerUserRecord, {"email": address, "name": "Ann", "role": "global_admin", "password": PASSWORD}, "user", problems)
    return not problems


def form_accepts(form_class, address) -> bool:
    form = form_class(formdata=MultiDict({"email": address, "password": PASSWORD}), meta={"csrf": False})
    form.validate()
    return not form.email.errors


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_import_accepts_an_address_exactly_when_the_sign_in_form_does(app, address):
    with app.test_request_context():
        assert import_accepts(address) == form_accepts(LoginForm, address) == form_accepts(AddUserForm, address)


def test_special_use_domains_are_refused_by_the_import_saying_why(app):
    document = {"partners": [{"id": "litware", "name": "Litware", "users": [
        {"email": "ann@litware.test", "name": "Ann", "role": "global_admin", "password": PASSWORD}]}]}
    with app.app_context(), pytest.raises(DirectoryImportError) as refused:
        import_directory(document)
    assert 'field "email": must be an email address a person can sign in with' in str(refused.value)
    assert "special-use or reserved name" in str(refused.value)


@pytest.mark.parametrize("written", ["ann@XN--MNCHEN-3YA.de", "Ann@München.DE"])
def test_everyone_imported_signs_in_with_the_address_as_the_file_gives_it(app, written):
    document = {"partners": [{"id": "litware", "name": "Litware", "users": [
        {"email": written, "name": "Ann", "role": "global_admin", "password": PASSWORD}]}]}
    with app.app_context():
        import_directory(document)
        db.session.commit()

    for typed in (written, "ann@xn--mnchen-3ya.de", "ann@münchen.de"):
        assert sign_in(app, typed).get("/").status_code == 200
