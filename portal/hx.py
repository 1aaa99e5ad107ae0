"""The only module that reads or writes HX-* headers."""
from __future__ import annotations

from flask import Response, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    """A partial is wanted for an htmx request that is neither boosted nor a history
    restore (which must get the whole page back)."""
    return (
        is_htmx()
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def trigger_name() -> str | None:
    return request.headers.get("HX-Trigger-Name")


def redirect(response: Response, url: str) -> Response:
    """Full-page navigation for htmx (the browser follows it, not a swap)."""
    response.headers["HX-Redirect"] = url
    return response


def reswap(response: Response, how: str) -> Response:
    response.headers["HX-Reswap"] = how
    return response


def push_url(response: Response, url: str) -> Response:
    response.headers["HX-Push-Url"] = url
    return response


def trigger(response: Response, event: str) -> Response:
    response.headers["HX-Trigger"] = event
    return response


def vary(response: Response) -> Response:
    """Fragments and pages share URLs, so caches must key on HX-Request."""
    response.vary.add("HX-Request")
    return response
