"""Templates' translations and dates follow the request's locale, also when it changes within
the request (``force_locale``, as an email in its recipient's language does), although both are
remembered (portal/i18n.py)."""
from datetime import datetime

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
