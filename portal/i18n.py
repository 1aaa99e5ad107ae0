"""Locale choice: the signed-in user's setting, else the language picked on this browser,
else the browser's Accept-Language. And the translations templates use, looked up once per
request and locale: Flask-Babel looks them up again on every call (7.5 µs a string, a few
milliseconds for a page of labels)."""
from flask import Flask, current_app, g, request, session
from flask_babel import get_locale, get_translations
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or languages[0]


def translations():
    """The current locale's translations. Keyed by locale, so ``force_locale`` (an email in its
    recipient's language) gets its own."""
    cache = g.setdefault("cpor_translations", {})
    key = str(get_locale())
    found = cache.get(key)
    if found is None:
        found = cache[key] = get_translations()
    return found


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
