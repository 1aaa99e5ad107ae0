"""Locale choice: the signed-in user's setting, else the language picked on this browser,
else the browser's Accept-Language. The language picked on this browser is kept in its own
cookie, so signing in, signing out or an ended session doesn't lose it. And the translations templates use, looked up once per
request and locale: Flask-Babel looks them up again on every call (7.5 µs a string, a few
milliseconds for a page of labels)."""
from datetime import date, datetime
from functools import lru_cache

from babel import support
from babel.dates import get_date_format, get_datetime_format, get_time_format
from babel.units import format_unit
from flask import Flask, current_app, g, request
from flask_babel import format_date, format_datetime, get_locale, get_timezone, get_translations
from flask_babel.speaklater import LazyString
from flask_login import current_user
from wtforms.i18n import messages_path

from portal.api import is_api_request

#: The cookie holding the language picked on this browser (a year: it outlives sessions).
LOCALE_COOKIE = "cpor_locale"
LOCALE_COOKIE_AGE = 365 * 24 * 3600


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if is_api_request() and request.accept_languages:
        # A program says which language it wants on each request (its messages, its problems).
        return request.accept_languages.best_match(languages) or languages[0]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = chosen_locale()
    if chosen:
        return chosen
    return request.accept_languages.best_match(languages) or languages[0]


def chosen_locale() -> str | None:
    """The language picked on this browser, if it is one the portal speaks."""
    chosen = request.cookies.get(LOCALE_COOKIE)
    return chosen if chosen in current_app.config["LANGUAGES"] else None


def remember_locale(response, locale: str):
    """Keep ``locale`` as this browser's language, beyond this session."""
    response.set_cookie(LOCALE_COOKIE, locale, max_age=LOCALE_COOKIE_AGE, path="/", httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


#: File sizes: binary multiples, named with the locale's decimal units ("3.8 MB", "3,8 Mo").
_SIZE_UNITS = (("digital-gigabyte", 1024 ** 3), ("digital-megabyte", 1024 ** 2), ("digital-kilobyte", 1024))


def filesize(size: int | None) -> str:
    """A file size in the current locale's words and numbers: "3.8 MB" in English, "3,8 Mo" in
    French, "512 bytes" / "512 octets" under a kilobyte. The ``filesize`` template filter."""
    if size is None:
        return ""
    locale = get_locale()
    for unit, factor in _SIZE_UNITS:
        if size >= factor:
            return format_unit(size / factor, unit, length="short", format="#,##0.#", locale=locale)
    return format_unit(size, "digital-byte", length="long", format="#,##0", locale=locale)


def translations():
    """The current locale's translations, remembered for the request with the locale they are
    for: ``force_locale`` (an email in its recipient's language) sets another locale object, so
    it gets its own."""
    if not g:  # outside an application context: Flask-Babel's answer (the strings untranslated)
        return get_translations()
    locale = get_locale()
    cached = g.get("cpor_translations")
    if cached is not None and cached[0] is locale:
        return cached[1]
    found = get_translations()
    g.cpor_translations = (locale, found)
    return found


def gettext(string: str, **variables) -> str:
    """Flask-Babel's ``gettext`` (the same catalog, the same %-formatting) on the translations
    remembered for the request: for code that translates many strings a page (labels)."""
    translated = translations().ugettext(string)
    return translated % variables if variables else translated


def lazy_gettext(string: str, **variables) -> LazyString:
    """Flask-Babel's ``lazy_gettext``, translated by ``gettext`` above when used."""
    return LazyString(gettext, string, **variables)


#: The portal's one date style and one date-and-time style, everywhere a person reads a date
#: (pages, lists, emails, notifications): CLDR's "medium" date, "Dec 8, 2026" in English and
#: "8 déc. 2026" in French, and the same followed by the time without seconds, "Dec 8, 2026,
#: 11:39 PM" / "8 déc. 2026, 23:39". Never a numeric date ("12/8/26", ambiguous across
#: languages), never a month in full beside an abbreviated one, never seconds. Files meant for
#: programs (the CSV export) write ISO 8601 instead.
DATE_STYLE = "medium"
TIME_STYLE = "short"


@lru_cache(maxsize=16)
def _datetime_pattern(locale: str) -> str:
    """The locale's pattern for the date-and-time style: its medium date and short time, joined
    as the locale joins them ("{1}, {0}")."""
    joined = get_datetime_format(DATE_STYLE, locale=locale)
    return (joined.replace("{1}", get_date_format(DATE_STYLE, locale=locale).pattern)
            .replace("{0}", get_time_format(TIME_STYLE, locale=locale).pattern))


@lru_cache(maxsize=16384)
def _formatted(value, with_time: bool, locale_and_zone: str) -> str:
    """Flask-Babel's rendering of ``value``, which depends on nothing but these arguments (the
    locale and time zone are the current ones: part of the key, never read from the cache)."""
    if with_time:
        return format_datetime(value, _datetime_pattern(locale_and_zone.partition("|")[0]))
    return format_date(value, DATE_STYLE)


def format_day(value: date | datetime | None) -> str:
    """A date (a datetime's day in the portal's time zone) in the portal's one date style: the
    ``dateformat`` filter. Remembered: Babel spends about 0.15 ms on each date, and a claim
    page shows fifty that never change (comments, history)."""
    if value is None:
        return ""
    return _formatted(value, False, locale_key())


def format_moment(value: datetime | None) -> str:
    """A date and time in the portal's one date-and-time style: the ``datetimeformat`` filter,
    remembered like ``format_day``."""
    if value is None:
        return ""
    return _formatted(value, True, locale_key())


def locale_key() -> str:
    """The current locale and time zone as one string ("fr|Europe/Paris"), for cache keys:
    worked out once per request and locale (``force_locale`` sets another locale object)."""
    locale = get_locale()
    cached = g.get("cpor_locale_key")
    if cached is not None and cached[0] is locale:
        return cached[1]
    key = f"{locale}|{get_timezone()}"
    g.cpor_locale_key = (locale, key)
    return key


@lru_cache(maxsize=None)
def _wtforms_catalog(locale: str):
    """WTForms' own messages ("Not a valid date value.") for ``locale``, read from disk once a
    process (Flask-WTF reads them again on every request that renders or validates a form)."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _WTFormsMessages:
    """What Flask-WTF looks for as ``request.wtforms_translations``: WTForms' messages in the
    locale current when one is needed (resolved then, not when the request starts)."""

    def ugettext(self, string):
        return _wtforms_catalog(str(get_locale())).ugettext(string)

    def ungettext(self, singular, plural, n):
        return _wtforms_catalog(str(get_locale())).ungettext(singular, plural, n)


_WTFORMS_MESSAGES = _WTFormsMessages()


def _share_wtforms_messages() -> None:
    request.wtforms_translations = _WTFORMS_MESSAGES


def init_app(app: Flask) -> None:
    """Templates' ``_()`` and friends on the cached translations (after Flask-Babel's init_app,
    whose callables these replace; the same new-style gettext, so the same results)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
    # Flask-Babel's filters of the same names take any CLDR style; these take none (a style
    # passed to them is an error), so every page shows the one style.
    app.jinja_env.filters["dateformat"] = format_day
    app.jinja_env.filters["datetimeformat"] = format_moment
    app.before_request(_share_wtforms_messages)
    app.jinja_env.filters["filesize"] = filesize
