"""Reading rendered pages in client tests, with the standard library's HTML parser."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_TOKEN = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*(")|("X-CSRFToken": ")[^"]*(")')


def text(response) -> str:
    """The body with entities decoded, so assertions read like the page."""
    return html.unescape(response.get_data(as_text=True))


def without_tokens(body: str) -> str:
    """The body with every CSRF token blanked: tokens are signed with a timestamp."""
    return _TOKEN.sub(lambda m: "".join(g for g in m.groups() if g is not None), body)


def form_token(response) -> str:
    """The CSRF token of the first form on the page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    assert match, "no CSRF token field on the page"
    return match.group(1)


def header_token(response) -> str:
    """The token base.html gives htmx in ``hx-headers`` on <body>."""
    match = re.search(r"hx-headers='([^']+)'", response.get_data(as_text=True))
    assert match, "no hx-headers on <body>"
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html.unescape(match.group(1)))
    assert token, "hx-headers carries no X-CSRFToken"
    return token.group(1)


def lang(response) -> str | None:
    match = re.search(r'<html[^>]*\blang="([^"]*)"', response.get_data(as_text=True))
    return match.group(1) if match else None


@dataclass
class CspViolations:
    inline_scripts: int = 0
    style_elements: int = 0
    style_attributes: list[str] = field(default_factory=list)
    event_handlers: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.inline_scripts or self.style_elements or self.style_attributes or self.event_handlers)


class _CspScanner(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = CspViolations()

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.inline_scripts += 1
        if tag == "style":
            self.found.style_elements += 1
        if "style" in names:
            self.found.style_attributes.append(tag)
        self.found.event_handlers.extend(f"{tag} {name}" for name in names if name.startswith("on"))

    handle_startendtag = handle_starttag


def csp_violations(response) -> CspViolations:
    """What a Content-Security-Policy without 'unsafe-inline' would block on this page."""
    scanner = _CspScanner()
    scanner.feed(response.get_data(as_text=True))
    scanner.close()
    return scanner.found
