"""Templates' translations and dates follow the request's locale, also when it changes within
the request (``force_locale``, as an email in its recipient's language does), although both are
remembered (portal/i18n.py)."""
from datetime import datetime

import pytest

from flask import render_template_string
from flask_babel import force_locale
from jinja2 import TemplateRuntimeError

WHEN = datetime(2026, 3, 14, 15, 9, 26)
TEMPLATE = '{{ _("Home") }} {{ when | datetimeformat }}'


def test_translations_and_dates_follow_the_locale_within_one_request(app):
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        french = render_template_string(TEMPLATE, when=WHEN)
        with force_locale("en"):
            english = render_template_string(TEMPLATE, when=WHEN)
            assert english == "Home Mar 14, 2026, 3:09\u202fPM"
        assert render_template_string(TEMPLATE, when=WHEN) == french
        assert french == "Accueil 14 mars 2026, 15:09"


def test_one_date_style_and_one_date_and_time_style(app):
    """CLDR's medium date; the same with the time, without seconds. A template cannot ask for
    another style."""
    template = "{{ when | dateformat }} | {{ when.date() | dateformat }} | {{ when | datetimeformat }}"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render_template_string(template, when=WHEN) == "Mar 14, 2026 | Mar 14, 2026 | Mar 14, 2026, 3:09\u202fPM"
        with force_locale("fr"):
            assert render_template_string(template, when=WHEN) == "14 mars 2026 | 14 mars 2026 | 14 mars 2026, 15:09"
        with pytest.raises((TypeError, TemplateRuntimeError)):
            render_template_string('{{ when | dateformat("long") }}', when=WHEN)


def test_a_missing_date_renders_as_nothing_not_as_now(app):
    with app.test_request_context("/"):
        assert render_template_string("[{{ none | datetimeformat }}|{{ none | dateformat }}]", none=None) == "[|]"


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
