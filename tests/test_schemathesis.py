"""Property-based API test: schemathesis generates requests from the app's OpenAPI schema,
valid and invalid, against every route. No request may produce a server error."""

from __future__ import annotations

import tempfile

import schemathesis
from hypothesis import HealthCheck, settings

from vetted_rag import Configuration
from vetted_rag.server.app import create_app

app = create_app(Configuration(chat_model="heuristic", data_dir=tempfile.mkdtemp(prefix="vr-schemathesis-"),
                               auth_required=False, cache_enabled=False))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}"
