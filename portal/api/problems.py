"""Errors of /api/v1 as RFC 9457 ``application/problem+json``: a stable ``code`` for programs,
the title and detail in the request's language (Accept-Language)."""
from __future__ import annotations

from flask import jsonify
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

MIMETYPE = "application/problem+json"

TITLES = {
    400: _l("Bad request"),
    401: _l("Unauthorized"),
    403: _l("Forbidden"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("Content too large"),
    415: _l("Unsupported media type"),
    422: _l("Unprocessable content"),
    429: _l("Too many requests"),
    500: _l("Internal server error"),
    503: _l("Service unavailable"),
}

#: Every problem code the API answers with, and what it tells the caller to do.
DETAILS = {
    "token_missing": _l("Send a personal API token in the Authorization header: “Authorization: Bearer cpor_…”. "
                        "Create one on the API access page of the portal."),
    "token_malformed": _l("The Authorization header doesn't hold a portal API token. Send “Authorization: Bearer "
                          "cpor_…” with the whole token, as the API access page showed it."),
    "token_invalid": _l("This API token is not valid. Check that it was copied whole, or create a new one on the "
                        "API access page."),
    "token_revoked": _l("This API token was revoked. Create a new one on the API access page."),
    "token_expired": _l("This API token has expired. Create a new one on the API access page."),
    "account_inactive": _l("The account this API token belongs to is deactivated."),
    "permission_denied": _l("Your role doesn't give access to this. A global admin of your organization can "
                            "change your role."),
    "token_read_only": _l("This token can only read. Create a read-and-write token to make changes."),
    "not_found": _l("There is nothing here, or it isn't yours to see."),
    "method_not_allowed": _l("This address doesn't accept this method."),
    "invalid_request": _l("What you sent doesn't match what this endpoint expects: see “errors”."),
    "unreadable_input": _l("What you sent contains characters that can't be read or saved, such as a NUL."),
    "bad_request": _l("The request was incomplete or not in the expected form."),
    "too_large": _l("What you sent is larger than the server accepts."),
    "idempotency_key_invalid": _l("An Idempotency-Key has at most 64 letters, digits, “-” or “_”."),
    "comment_refused": _l("The comment was refused."),
    "idempotency_key_reused": _l("This Idempotency-Key was already used with another request. Use a new key for "
                                 "a new request."),
    "too_many_drafts": _l("Too many claims in progress or started recently."),
    "not_a_draft": _l("This claim is no longer a draft."),
    "claim_changed": _l("This claim changed while you were acting. Nothing you sent was saved: read the claim "
                        "again and decide."),
    "action_not_allowed": _l("The claim's status doesn't allow this now. The claim's “actions” say what you may do."),
    "action_refused": _l("The action was refused."),
    "step_invalid": _l("Some answers need attention before the claim can be submitted."),
    "attestation_required": _l("Confirm the attestation to submit the claim."),
    "duplicate_claim": _l("Your organization already has an open claim for this customer, product and activity."),
    "files_refused": _l("No file was added: see “errors” for why each was refused."),
    "json_expected": _l("Send the request body as JSON, with “Content-Type: application/json”."),
    "files_missing": _l("Send the files as multipart/form-data, one part named “files” each."),
    "rate_limited": _l("Too many requests with this token in a short time. Wait a minute and try again."),
    "unavailable": _l("The portal can't answer right now. Try again in a minute."),
    "server_error": _l("Something went wrong on our side. What you sent may or may not have been saved: check "
                       "before sending it again."),
}

#: The code an HTTP error answers with when nothing more precise was raised.
STATUS_CODES = {400: "bad_request", 401: "token_missing", 403: "permission_denied", 404: "not_found",
                405: "method_not_allowed", 413: "too_large", 415: "json_expected", 422: "invalid_request", 429: "rate_limited",
                500: "server_error", 503: "unavailable"}


class ApiProblem(Exception):
    """Raised anywhere in /api/v1 to answer with a problem."""

    def __init__(self, status: int, code: str, errors: list[dict] | None = None, headers: dict | None = None,
                 detail=None):
        super().__init__(code)
        self.status, self.code, self.errors, self.headers, self.detail = status, code, errors, headers or {}, detail


def response(status: int, code: str, errors: list[dict] | None = None, headers: dict | None = None, detail=None):
    """``detail``: a service's own message (already in the request's language) instead of the code's."""
    body = {"type": "about:blank", "title": str(TITLES.get(status, status)), "status": status,
            "detail": str(detail if detail is not None else DETAILS[code]), "code": code}
    if errors is not None:
        body["errors"] = errors
    answer = jsonify(body)
    answer.status_code = status
    answer.mimetype = MIMETYPE
    answer.headers["Content-Language"] = str(get_locale())
    if status == 401:
        realm = 'Bearer realm="cpor"'
        answer.headers["WWW-Authenticate"] = realm if code == "token_missing" else realm + ', error="invalid_token"'
    answer.headers.update(headers or {})
    return answer


def for_status(status: int):
    """The problem an HTTP error status answers with."""
    return response(status, STATUS_CODES.get(status, "server_error" if status >= 500 else "bad_request"))


def from_exception(problem: ApiProblem):
    return response(problem.status, problem.code, problem.errors, problem.headers, problem.detail)
