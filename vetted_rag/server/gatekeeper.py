"""The gatekeeper in front of every protected route: API key and role, rate limit, then body size
and JSON shape — so a malformed request gets a 4xx with a reason before LangServe sees it (LangServe
answers some with a bare 500)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vetted_rag.graph.configuration import Configuration
from vetted_rag.security.keys import ApiKey, KeyStore, role_allows
from vetted_rag.security.ratelimit import Limiter, retry_after_header

MAX_BODY_BYTES = 64 * 1024
SESSION_COOKIE = "vetted_rag_key"
MAX_BATCH = 16
LOCAL_DEV = ApiKey("local-dev", "local development (auth off)", "admin", "public", 10**6, 10**9)


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def required_role(method: str, path: str) -> str | None:
    """The role a route needs; None for open routes (health, metrics, schemas, sign-in);
    "sign-in" for the playground page, which sends a browser without a key to /login."""
    if path.startswith("/agent/playground") and method == "GET":
        return "sign-in"
    if path.startswith("/admin"):
        return "admin"
    if path.startswith(("/ingest", "/documents")):
        return "editor"
    if path.startswith("/agent/") and method == "POST":
        return "reader"
    return None


class Gatekeeper:
    """Authentication, role, rate limit, then body size and JSON shape for protected routes.

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware runs every request through an extra
    task and a streamed response, which cost a cache hit more than the checks themselves."""

    def __init__(self, app: ASGIApp, settings: Configuration, keys: KeyStore, limiter: Limiter) -> None:
        self.app, self.settings, self.keys, self.limiter = app, settings, keys, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal, body = await self._check(Request(scope, receive))
        if refusal is not None:
            return await refusal(scope, receive, send)
        if body is None:
            return await self.app(scope, receive, send)
        replayed = False

        async def replay() -> Message:  # the body was read here; the route reads it again
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _check(self, request: Request) -> tuple[Response | None, bytes | None]:
        """(a refusal, or None) and the body if it was read to be checked."""
        role = required_role(request.method, request.url.path)
        if role is None or (role == "sign-in" and not self.settings.auth_required):
            return None, None
        if self.settings.auth_required:
            header = request.headers.get("authorization", "")
            secret = (request.headers.get("x-api-key") or (header[7:] if header.lower().startswith("bearer ") else None)
                      or request.cookies.get(SESSION_COOKIE))
            identity = self.keys.verify(secret)
            if identity is None:
                if role == "sign-in":
                    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303), None
                return _problem(401, "a valid API key is required (X-API-Key or Authorization: Bearer)"), None
            if role != "sign-in" and not role_allows(identity.role, role):
                return _problem(403, f"this route needs the {role} role; the key has {identity.role}"), None
        else:
            identity = replace(LOCAL_DEV, tenant=self.settings.tenant)
        if role == "sign-in":  # the page itself; its requests to /agent/* are checked and limited as usual
            return None, None
        wait = self.limiter.acquire(identity.key_id, identity.requests_per_minute, identity.tokens_per_minute)
        if wait is not None:
            return _problem(429, "rate limit reached", {"Retry-After": retry_after_header(wait)}), None
        request.state.identity = identity
        if request.method not in ("POST", "PUT", "PATCH"):
            return None, None
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _problem(413, f"request body larger than {MAX_BODY_BYTES} bytes"), None
        body = await request.body()
        return _body_problem(request.url.path, body), body


def _body_problem(path: str, body: bytes) -> JSONResponse | None:
    if len(body) > MAX_BODY_BYTES:
        return _problem(413, f"request body larger than {MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(body.decode("utf-8")) if body else None
    except UnicodeDecodeError:
        return _problem(400, "request body is not UTF-8")
    except json.JSONDecodeError as exc:
        return _problem(400, f"request body is not JSON: {exc.msg}")
    problem = _shape_problem(path, payload)
    return _problem(422, problem) if problem else None


def _shape_problem(path: str, payload: Any) -> str | None:
    if not path.startswith("/agent/"):
        return None if isinstance(payload, dict) else "the body must be a JSON object"
    if not path.endswith(("/invoke", "/stream", "/stream_log", "/stream_events", "/batch")):
        return None
    if not isinstance(payload, dict):
        return "the body must be a JSON object"
    batch = path.endswith("/batch")
    if "kwargs" in payload and not isinstance(payload["kwargs"], dict):
        return "'kwargs' must be an object"
    config = payload.get("config", {})
    configs = config if batch and isinstance(config, list) else [config]
    if not all(isinstance(c, dict) for c in configs):
        return "'config' must be an object" + (" or a list of objects" if batch else "")
    if batch:
        inputs = payload.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            return "'inputs' must be a non-empty list"
        if len(inputs) > MAX_BATCH:
            return f"at most {MAX_BATCH} inputs per batch"
    elif "input" not in payload:
        return "'input' is required"
    return None
