"""The OpenAPI document describes exactly the API's routes, is valid OpenAPI, and its readable
page works under the Content-Security-Policy (no script at all)."""
from __future__ import annotations

import re

from openapi_spec_validator import validate

from portal.api.v1 import PUBLIC


def _api_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") and rule.endpoint not in PUBLIC:
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routes |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_the_document_is_valid_openapi_and_lists_exactly_the_api_routes(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    validate(document)
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert documented == _api_routes(app)
    assert len(documented) >= 6


def test_every_operation_needs_the_bearer_token_and_answers_problems(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "A personal token (cpor_…) from the API access page."}
    assert document["security"] == [{"bearer": []}]
    for operations in document["paths"].values():
        for operation in operations.values():
            assert operation["summary"] and operation["description"]
            for status in ("401", "403", "429"):
                assert list(operation["responses"][status]["content"]) == ["application/problem+json"]


def test_the_reference_page_is_built_on_the_server_without_scripts(app):
    response = app.test_client().get("/api/v1/docs")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script>" not in page and " style=" not in page and "cdn" not in page.lower()
    for heading in ("GET /api/v1/claims", "GET /api/v1/claims/{claim_id}", "POST /api/v1/checks/customer"):
        assert heading in page
