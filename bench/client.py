"""Signs in through the portal's real login form, over HTTP, and keeps the cookies for wrk.

Cookies are kept by hand: the production settings mark them Secure, which a cookie jar would
not send over the plain-HTTP loopback. The User-Agent is fixed because Flask-Login's "strong"
session protection ties the session to the client's address and User-Agent: wrk sends the same.
"""
from __future__ import annotations

import html
import http.client
import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode

USER_AGENT = "cpor-bench/1"
_CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
_CSRF_HEADER = re.compile(r'"X-CSRFToken":\s*"([^"]+)"')


class Session:
    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def headers(self, extra: dict | None = None) -> dict:
        headers = {"User-Agent": USER_AGENT, **(extra or {})}
        if self.cookies:
            headers["Cookie"] = self.cookie_header
        return headers

    def request(self, method: str, path: str, body: str = "", headers: dict | None = None, timeout: float = 30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body.encode() if body else None, headers=self.headers(headers))
            response = conn.getresponse()
            content = response.read().decode("utf-8", errors="replace")
            for value in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(value).items():
                    self.cookies[name] = morsel.value
            return response.status, response.headers, content
        finally:
            conn.close()

    def sign_in(self, email: str, password: str) -> None:
        status, _, page = self.request("GET", "/login")
        token = csrf_from_form(page)
        if status != 200 or token is None:
            raise RuntimeError(f"GET /login answered {status} without a CSRF token")
        form = urlencode({"email": email, "password": password, "csrf_token": token, "next": ""})
        status, headers, _ = self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302 or headers.get("Location", "").rstrip("/").endswith("/login"):
            raise RuntimeError(f"signing in as {email} failed: {status} {headers.get('Location')}")

    def csrf_header(self, path: str) -> str:
        """The token htmx sends in X-CSRFToken, read from a page's ``hx-headers`` (base.html)."""
        status, _, page = self.request("GET", path)
        match = _CSRF_HEADER.search(html.unescape(page))
        if status != 200 or not match:
            raise RuntimeError(f"GET {path} answered {status} without hx-headers")
        return match.group(1)


def csrf_from_form(page: str) -> str | None:
    match = _CSRF_INPUT.search(page)
    return (match.group(1) or match.group(2)) if match else None


def csrf_from_page(page: str) -> str | None:
    match = _CSRF_HEADER.search(html.unescape(page))
    return match.group(1) if match else None
