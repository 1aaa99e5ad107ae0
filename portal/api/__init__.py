"""The JSON API for partners' own systems (/api/v1) and the personal tokens it is used with."""
from flask import has_request_context, request

#: Every API path starts with this; nothing else does.
API_PREFIX = "/api/v1"


def is_api_request() -> bool:
    """The request is for /api/v1: answered in JSON (problem+json for errors), authenticated by
    bearer token only, in the Accept-Language language."""
    return has_request_context() and (request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/"))
