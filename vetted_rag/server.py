"""HTTP endpoint: the agent as a LangServe runnable under /agent (invoke, batch, stream,
stream_events, schemas, playground), editor and admin routes, /healthz, /readyz, /metrics.

LangServe answers some malformed bodies with a bare 500 (`config: null`, `inputs: null`
on batch, non-UTF-8 bytes) and turns run failures into 500s. Here the gatekeeper rejects
malformed bodies with a 4xx and a reason before LangServe sees them, and the runnable
never raises: every run outcome is a 200 with its status.

Access: an API key (`X-API-Key` or `Authorization: Bearer`) with a role — reader for
/agent, editor for /ingest and /documents, admin for /admin. The key's tenant scopes the
knowledge base and cache a run can reach; its limits cap the run policy.
"""

from __future__ import annotations

import html
import json
import logging
import typing
from dataclasses import fields, replace
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langserve import add_routes
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model
from starlette.middleware.base import BaseHTTPMiddleware

from vetted_rag.api import Agent, AskResult
from vetted_rag.cache import open_cache
from vetted_rag.graph.configuration import POLICY_LIMITS, Configuration, RunPolicy
from vetted_rag.ingest import ingest_urls
from vetted_rag.knowledge_base import IngestReport, SourceDocument, open_knowledge_base
from vetted_rag.observability import trace_store
from vetted_rag.security.audit import AuditLog
from vetted_rag.security.keys import ApiKey, KeyStore, role_allows
from vetted_rag.security.ratelimit import RateLimiter, retry_after_header

log = logging.getLogger("vetted_rag.server")

MAX_BODY_BYTES = 64 * 1024
SESSION_COOKIE = "vetted_rag_key"
LOGIN_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>vetted-rag: sign in</title><link rel="icon" href="data:,">
<style>body{{font-family:sans-serif;max-width:28em;margin:4em auto}}input{{width:100%;padding:.5em;margin:.5em 0}}
.err{{color:#b00}}</style></head><body><h1>vetted-rag</h1><p>Sign in with an API key to use the playground.</p>
{problem}<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label>API key <input name="key" type="password" autocomplete="off" required></label>
<button type="submit">Sign in</button></form></body></html>"""


def _local_path(target: str) -> str:
    """Only a path on this server may follow sign-in (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/agent/playground/"

MAX_BATCH = 16
THREAD_HEADER = "x-thread-id"
LOCAL_DEV = ApiKey("local-dev", "local development (auth off)", "admin", "public", 10**6, 10**9)


def _optional(kind: str, **bounds: float) -> Any:
    """An optional limit published as a plain `kind` in the schema: LangServe's playground
    cannot render `anyOf [..., null]` ("Unknown type: null")."""
    return Annotated[int | None if kind == "integer" else float | None, WithJsonSchema({"type": kind, **bounds})]


def _without_null_defaults(schema: dict[str, Any]) -> None:
    # The playground's form would pre-fill `null` and then reject it against the type.
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]


def _limit_field(name: str) -> tuple[Any, Any]:
    """One field of PolicyRequest, generated from RunPolicy's type, description and minimum."""
    minimum, exclusive = POLICY_LIMITS[name]
    spec = next(f for f in fields(RunPolicy) if f.name == name)
    hint = typing.get_type_hints(RunPolicy)[name]
    kind = "integer" if int in (hint, *typing.get_args(hint)) else "number"
    bound = {"exclusiveMinimum": minimum} if exclusive else {"minimum": minimum}
    check = {"gt": minimum} if exclusive else {"ge": minimum}
    return (_optional(kind, **bound, maximum=MAX_LIMIT),
            Field(default=None, le=MAX_LIMIT, description=spec.metadata["description"], **check))


MAX_LIMIT = 10**9
PolicyRequest = create_model(
    "PolicyRequest",
    __config__=ConfigDict(extra="forbid", json_schema_extra=_without_null_defaults),
    __doc__="Limits a request may lower for its own run (never raise). Omitted limits stay as configured.",
    **{name: _limit_field(name) for name in POLICY_LIMITS},
)


class AskRequest(BaseModel):
    """Input of /agent: a question, and optionally a cache bypass and stricter limits."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=2000, description="The question to answer from the knowledge base")
    no_cache: bool = Field(default=False, description="Skip the answer cache for this run")
    policy: PolicyRequest = Field(default_factory=PolicyRequest, description="Stricter limits for this run")


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1, max_length=500)
    title: str = Field(default="", max_length=500)
    text: str = Field(min_length=1, max_length=50_000)


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[DocumentIn] = Field(default_factory=list, max_length=50)
    urls: list[str] = Field(default_factory=list, max_length=10,
                            description="http(s) URLs to fetch; local paths are never read over HTTP")


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


class Gatekeeper(BaseHTTPMiddleware):
    """Authentication, role, rate limit, then body size and JSON shape for protected routes."""

    def __init__(self, app: Any, settings: Configuration, keys: KeyStore, limiter: RateLimiter) -> None:
        super().__init__(app)
        self.settings, self.keys, self.limiter = settings, keys, limiter

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        role = required_role(request.method, request.url.path)
        if role is None or (role == "sign-in" and not self.settings.auth_required):
            return await call_next(request)
        if self.settings.auth_required:
            header = request.headers.get("authorization", "")
            secret = (request.headers.get("x-api-key") or (header[7:] if header.lower().startswith("bearer ") else None)
                      or request.cookies.get(SESSION_COOKIE))
            identity = self.keys.verify(secret)
            if identity is None:
                if role == "sign-in":
                    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
                return _problem(401, "a valid API key is required (X-API-Key or Authorization: Bearer)")
            if role != "sign-in" and not role_allows(identity.role, role):
                return _problem(403, f"this route needs the {role} role; the key has {identity.role}")
        else:
            identity = replace(LOCAL_DEV, tenant=self.settings.tenant)
        if role == "sign-in":  # the page itself; its requests to /agent/* are checked and limited as usual
            return await call_next(request)
        wait = self.limiter.acquire(identity.key_id, identity.requests_per_minute, identity.tokens_per_minute)
        if wait is not None:
            return _problem(429, "rate limit reached", {"Retry-After": retry_after_header(wait)})
        request.state.identity = identity
        if request.method in ("POST", "PUT", "PATCH"):
            problem = await _body_problem(request)
            if problem:
                return problem
        return await call_next(request)


async def _body_problem(request: Request) -> JSONResponse | None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _problem(413, f"request body larger than {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _problem(413, f"request body larger than {MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(body.decode("utf-8")) if body else None
    except UnicodeDecodeError:
        return _problem(400, "request body is not UTF-8")
    except json.JSONDecodeError as exc:
        return _problem(400, f"request body is not JSON: {exc.msg}")
    problem = _shape_problem(request.url.path, payload)
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


def _identity(request: Request) -> ApiKey:
    return request.state.identity


def create_app(settings: Configuration | None = None, limiter: RateLimiter | None = None) -> FastAPI:
    settings = settings or Configuration.from_env()
    agent = Agent(settings)
    keys = KeyStore(settings.data_path / "keys.sqlite")
    audit = AuditLog(settings.data_path / "audit.jsonl")
    limiter = limiter or RateLimiter()
    traces = trace_store(settings)
    if not settings.auth_required:
        log.warning("AUTHENTICATION IS OFF: every caller is an admin of tenant %r. Local development only.",
                    settings.tenant)
    app = FastAPI(title="vetted-rag", version="0.1.0",
                  description="Answers from a knowledge base, graded before they are released.")
    app.add_middleware(Gatekeeper, settings=settings, keys=keys, limiter=limiter)

    def scoped(identity: ApiKey) -> Configuration:
        return replace(settings, tenant=identity.tenant).with_policy(**identity.policy)

    async def run(request: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        ask = AskRequest.model_validate(request)
        configurable = config.get("configurable") or {}
        identity: ApiKey = configurable.get("identity") or replace(LOCAL_DEV, tenant=settings.tenant)
        result: AskResult = await agent.aask(
            ask.question, thread_id=configurable.get("thread_id"), no_cache=ask.no_cache,
            callbacks=config.get("callbacks"), config=scoped(identity),
            policy=ask.policy.model_dump(exclude_none=True))
        limiter.spend_tokens(identity.key_id, int(result.usage.get("total_tokens", 0)))
        audit.append(key_id=identity.key_id, role=identity.role, action="ask", target=ask.question,
                     outcome=result.status, run_id=result.run_id)
        return result.model_dump()

    def per_request(run_config: dict[str, Any], request: Request) -> dict[str, Any]:
        configurable = run_config.setdefault("configurable", {})
        configurable["identity"] = getattr(request.state, "identity", None)
        thread = request.headers.get(THREAD_HEADER)
        if thread:
            # Threads are per tenant, so one tenant cannot read another's conversation.
            configurable["thread_id"] = f"{configurable['identity'].tenant if configurable['identity'] else ''}:{thread[:128]}"
        return run_config

    add_routes(app, RunnableLambda(run, name="vetted-rag"), path="/agent", input_type=AskRequest,
               output_type=AskResult, per_req_config_modifier=per_request, config_keys=())
    # LangServe print()s an ASCII banner at start-up, which would break JSON-line logs: log it instead.
    app.router.on_startup[:] = [h for h in app.router.on_startup if getattr(h, "__module__", "") != "langserve.server"]
    app.router.on_startup.append(lambda: log.info("routes under /agent; playground at /agent/playground/; docs at /docs"))

    @app.post("/ingest")
    def ingest(body: IngestRequest, request: Request) -> dict[str, Any]:
        identity = _identity(request)
        config = scoped(identity)
        kb = open_knowledge_base(config)
        report = IngestReport()
        for doc in body.documents:
            report.merge(kb.add_document(SourceDocument(doc.source, doc.title or doc.source, doc.text)))
        if body.urls:
            report.merge(ingest_urls(config, body.urls))
        audit.append(key_id=identity.key_id, role=identity.role, action="ingest",
                     target=", ".join([d.source for d in body.documents] + body.urls),
                     outcome=f"added {report.added}, failed {len(report.failed)}")
        return {"added": report.added, "unchanged": report.unchanged, "removed": report.removed,
                "files": report.files, "failed": [{"source": s, "error": e} for s, e in report.failed]}

    @app.delete("/documents")
    def delete_document(source: str, request: Request) -> dict[str, int]:
        identity = _identity(request)
        deleted = open_knowledge_base(scoped(identity)).delete_source(source)
        audit.append(key_id=identity.key_id, role=identity.role, action="delete", target=source,
                     outcome=f"deleted {deleted}")
        return {"deleted": deleted}

    @app.get("/admin/traces")
    def recent_traces(request: Request, limit: int = 20) -> list[dict[str, Any]]:
        identity = _identity(request)
        audit.append(key_id=identity.key_id, role=identity.role, action="read traces", target=f"recent {limit}")
        return traces.recent(max(1, min(limit, 200)))

    @app.get("/admin/traces/{run_id}")
    def get_trace(run_id: str, request: Request) -> dict[str, Any]:
        identity = _identity(request)
        run = traces.get(run_id)
        audit.append(key_id=identity.key_id, role=identity.role, action="read trace", target=run_id,
                     outcome="found" if run else "not found", run_id=run_id)
        if run is None:
            raise HTTPException(404, f"no stored trace for run {run_id}")
        return run

    @app.get("/admin/cache/stats")
    def cache_stats(request: Request) -> dict[str, Any]:
        return open_cache(scoped(_identity(request))).stats()

    @app.post("/admin/cache/clear")
    def cache_clear(request: Request) -> dict[str, int]:
        identity = _identity(request)
        cleared = open_cache(scoped(identity)).clear()
        audit.append(key_id=identity.key_id, role=identity.role, action="cache clear", outcome=f"cleared {cleared}")
        return {"cleared": cleared}

    @app.get("/admin/audit/verify")
    def audit_verify(request: Request) -> dict[str, Any]:
        intact, records, problem = audit.verify()
        return {"intact": intact, "records": records, "problem": problem}

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(next: str = "/agent/playground/") -> str:
        return LOGIN_PAGE.format(next=html.escape(_local_path(next)), problem="")

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        secret, target = form.get("key", [""])[0].strip(), _local_path(form.get("next", ["/agent/playground/"])[0])
        identity = keys.verify(secret)
        if identity is None:
            audit.append(key_id="unknown", role="none", action="sign in", outcome="refused")
            return HTMLResponse(LOGIN_PAGE.format(next=html.escape(target), problem="<p class=err>That key is not valid.</p>"),
                                status_code=401)
        audit.append(key_id=identity.key_id, role=identity.role, action="sign in", outcome="signed in")
        response = RedirectResponse(target, status_code=303)
        # HttpOnly: page scripts cannot read it; SameSite=Strict: other sites cannot send it.
        response.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", max_age=8 * 3600, path="/")
        return response

    @app.post("/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        try:
            chunks = open_knowledge_base(settings).count()
        except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
            return JSONResponse({"status": "not ready", "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready", "chunks": chunks, "chat_model": settings.chat_model})

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
