"""The only module that reads or writes HX-* headers, built on htmx-flask: its request details
(``request.htmx``) and its response helper. ``Vary: HX-Request`` is set here for every response."""
from __future__ import annotations

from flask import Flask, Response
from htmx_flask import make_response as _htmx_response
from htmx_flask import request

from portal.extensions import htmx

#: htmx-flask 0.1.0 refuses these reswap values (a missing comma in its list): set them here.
_RESWAPS_IT_REFUSES = ("beforebegin", "afterbegin")


def init_app(app: Flask) -> None:
    htmx.init_app(app)
    app.after_request(vary)


def is_htmx() -> bool:
    return bool(request.htmx)


def wants_fragment() -> bool:
    """A partial is wanted for an htmx request that is neither boosted nor a history
    restore (which must get the whole page back)."""
    details = request.htmx
    return bool(details) and not details.boosted and not details.history_restore_request


def trigger_name() -> str | None:
    return request.htmx.trigger_name


def response(*args, push_url: str | None = None, trigger: str | None = None, reswap: str | None = None,
             redirect: str | None = None) -> Response:
    """``flask.make_response(*args)`` with the htmx headers asked for: ``redirect`` makes htmx
    navigate (not swap), ``push_url`` sets the address bar, ``trigger`` fires a client event,
    ``reswap`` changes how the response is swapped."""
    own_reswap = reswap if reswap and (reswap.split()[0] in _RESWAPS_IT_REFUSES or " " in reswap) else None
    resp = _htmx_response(*args, push_url=push_url, trigger=trigger, redirect=redirect,
                          reswap=None if own_reswap else reswap)
    if own_reswap:
        resp.headers["HX-Reswap"] = own_reswap
    return resp


def vary(resp: Response) -> Response:
    """Fragments and pages share URLs, so caches must key on HX-Request."""
    resp.vary.add("HX-Request")
    return resp
