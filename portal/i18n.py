"""Locale choice: the signed-in user's setting, else the language picked on this browser,
else the browser's Accept-Language. The language picked on this browser is kept in its own
cookie, so signing in, signing out or an ended session doesn't lose it. And the translations templates use, looked up once per
request and locale: Flask-Babel looks them up again on every call (7.5 µs a string, a few
milliseconds for a page of labels)."""
from functools import lru_cache

from babel.units import format_unit
from flask import Flask, current_app, g, request
from flask_babel import format_datetime, get_locale, get_timezone, get_translations
from flask_login import current_user

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
    locale = get_locale()
    cached = g.get("cpor_translations")
    if cached is not None and cached[0] is locale:
        return cached[1]
    found = get_translations()
    g.cpor_translations = (locale, found)
    return found


@lru_cache(maxsize=16384)
def _formatted_datetime(value, format: str, locale: str, timezone: str) -> str:
    """Flask-Babel's rendering of ``value``, which depends on nothing but these arguments (the
    locale and time zone are the current ones: part of the key, never read from the cache)."""
    return format_datetime(value, format)


def datetimeformat(value, format: str = "medium") -> str:
    """The ``datetimeformat`` filter, remembered: Babel spends about 0.15 ms on each date, and a
    claim page shows fifty that never change (comments, history)."""
    if value is None:
        return ""
    return _formatted_datetime(value, format, str(get_locale()), str(get_timezone()))


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
    app.jinja_env.filters["datetimeformat"] = datetimeformat
    app.jinja_env.filters["filesize"] = filesize
