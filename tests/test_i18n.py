"""Templates' translations and dates follow the request's locale, also when it changes within
the request (``force_locale``, as an email in its recipient's language does), although both are
remembered (portal/i18n.py)."""
from datetime import datetime

import pytest

from flask import render_template_string
from flask_babel import force_locale, format_datetime

WHEN = datetime(2026, 3, 14, 15, 9)
TEMPLATE = '{{ _("Home") }} {{ when | datetimeformat("medium") }}'


def test_translations_and_dates_follow_the_locale_within_one_request(app):
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        french = render_template_string(TEMPLATE, when=WHEN)
        with force_locale("en"):
            english = render_template_string(TEMPLATE, when=WHEN)
            assert english == f"Home {format_datetime(WHEN, 'medium')}"
        assert render_template_string(TEMPLATE, when=WHEN) == french
        assert french == f"Accueil {format_datetime(WHEN, 'medium')}"
    assert "mars" in french and "Mar" in english


def test_a_missing_date_renders_as_nothing_not_as_now(app):
    with app.test_request_context("/"):
        assert render_template_string('[{{ none | datetimeformat("short") }}]', none=None) == "[]"


@pytest.mark.parametrize(
    ("size", "english", "french"),
    [
        (4_000_700, "3.8 MB", "3,8\u202fMo"),  # not "3906.9 KB"
        (10 * 1024 * 1024, "10 MB", "10\u202fMo"),
        (1024, "1 kB", "1\u202fko"),
        (5 * 1024 ** 3 // 2, "2.5 GB", "2,5\u202fGo"),
        (1, "1 byte", "1\xa0octet"),
        (512, "512 bytes", "512\xa0octets"),
    ],
)
def test_file_sizes_are_in_the_locales_numbers_and_units(app, size, english, french):
    """French keeps number and unit together with a no-break space (narrow for symbols), as CLDR says."""
    template = "{{ size | filesize }}"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render_template_string(template, size=size) == english
        with force_locale("fr"):
            assert render_template_string(template, size=size) == french
