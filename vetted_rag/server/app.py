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
import logging
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langserve import add_routes
from langserve.callbacks import AsyncEventAggregatorCallback
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from vetted_rag.api import Agent, AskResult
from vetted_rag.cache import open_cache
from vetted_rag.graph.configuration import Configuration
from vetted_rag.knowledge.ingest import ingest
from vetted_rag.knowledge.store import SourceDocument, open_knowledge_base
from vetted_rag.observability import trace_store
from vetted_rag.security.audit import AuditLog
from vetted_rag.security.keys import ApiKey, KeyStore
from vetted_rag.security.ratelimit import Limiter, rate_limiter, retry_after_header
from vetted_rag.server.gatekeeper import LOCAL_DEV, SESSION_COOKIE, Gatekeeper
from vetted_rag.server.schemas import AskRequest, IngestRequest

log = logging.getLogger("vetted_rag.server")

LOGIN_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>vetted-rag: sign in</title><link rel="icon" href="data:,">
<style>body{{font-family:sans-serif;max-width:28em;margin:4em auto}}input{{width:100%;padding:.5em;margin:.5em 0}}
.err{{color:#b00}}</style></head><body><h1>vetted-rag</h1><p>Sign in with an API key to use the playground.</p>
{problem}<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label>API key <input name="key" type="password" autocomplete="off" required></label>
<button type="submit">Sign in</button></form></body></html>"""


def _local_path(target: str) -> str:
    """Only a path on this server may follow sign-in (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/agent/playground/"


THREAD_HEADER = "x-thread-id"


def _identity(request: Request) -> ApiKey:
    return request.state.identity


def _listeners(callbacks: Any) -> Any:
    """The request's callbacks, unless the only one is the event aggregator LangServe attaches to every
    request: it reports only on routes that return callback events, which these do not
    (`include_callback_events` is off). Without listeners a cache hit takes the hit path."""
    handlers = getattr(callbacks, "handlers", callbacks) or []
    return callbacks if any(not isinstance(h, AsyncEventAggregatorCallback) for h in handlers) else None


def create_app(settings: Configuration | None = None, limiter: Limiter | None = None) -> FastAPI:
    settings = settings or Configuration.from_env()
    agent = Agent(settings)
    keys = KeyStore(settings.data_path / "keys.sqlite")
    audit = AuditLog(settings.data_path / "audit.jsonl")
    limiter = limiter or rate_limiter(settings.redis_url)
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
            callbacks=_listeners(config.get("callbacks")), config=scoped(identity),
            policy=ask.policy.model_dump(exclude_none=True))
        limiter.spend_tokens(identity.key_id, int(result.usage.get("total_tokens", 0)))
        audit.append(key_id=identity.key_id, role=identity.role, action="ask", target=ask.question,
                     outcome=result.status, run_id=result.run_id)
        # One run, one response: `busy` is a 503 (LangServe lets an HTTPException through). A stream has
        # already started and a batch holds other runs' results, so there `busy` is the run's status.
        if result.status == "busy" and configurable.get("single_response"):
            raise HTTPException(503, f"{result.stop_reason}; retry later",
                                headers={"Retry-After": retry_after_header(settings.admission_wait_s),
                                         "X-Run-Id": result.run_id})  # its trace is stored like any run's
        return result.model_dump()

    def per_request(run_config: dict[str, Any], request: Request) -> dict[str, Any]:
        configurable = run_config.setdefault("configurable", {})
        configurable["identity"] = getattr(request.state, "identity", None)
        configurable["single_response"] = request.url.path.endswith("/invoke")
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
    def post_ingest(body: IngestRequest, request: Request) -> dict[str, Any]:
        identity = _identity(request)
        config = scoped(identity)
        report = ingest(config, urls=body.urls,
                        documents=[SourceDocument(d.source, d.title or d.source, d.text) for d in body.documents])
        audit.append(key_id=identity.key_id, role=identity.role, action="ingest",
                     target=", ".join([d.source for d in body.documents] + body.urls),
                     outcome=f"added {report.added}, failed {len(report.failed)}")
        return report.as_dict()

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
