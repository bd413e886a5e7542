"""HTTP endpoint: the agent as a LangServe runnable under /agent (invoke, batch, stream,
stream_events, schemas, playground), plus /healthz, /readyz and Prometheus /metrics.

LangServe answers some malformed bodies with a bare 500 (`config: null`, `inputs: null`
on batch, non-UTF-8 bytes) and turns run failures into 500s. Here a request guard rejects
malformed bodies with a 4xx and a reason before LangServe sees them, and the runnable
never raises: every run outcome is a 200 with its status.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langserve import add_routes
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware.base import BaseHTTPMiddleware

from vetted_rag.api import Agent, AskResult
from vetted_rag.graph.configuration import Configuration
from vetted_rag.knowledge_base import open_knowledge_base

log = logging.getLogger("vetted_rag.server")

MAX_BODY_BYTES = 64 * 1024
MAX_BATCH = 16
THREAD_HEADER = "x-thread-id"


class PolicyRequest(BaseModel):
    """Limits a request may lower for its own run (never raise)."""

    model_config = ConfigDict(extra="forbid")
    max_iterations: int | None = Field(default=None, ge=1)
    max_rewrites: int | None = Field(default=None, ge=0)
    max_execution_time_s: float | None = Field(default=None, gt=0)
    max_total_tokens: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, ge=0)


class AskRequest(BaseModel):
    """Input of /agent: a question, and optionally a cache bypass and stricter limits."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=2000, description="The question to answer from the knowledge base")
    no_cache: bool = Field(default=False, description="Skip the answer cache for this run")
    policy: PolicyRequest | None = Field(default=None, description="Stricter limits for this run")


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


class RequestGuard(BaseHTTPMiddleware):
    """Body size cap and JSON shape checks for LangServe's POST routes."""

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        if request.method != "POST" or not request.url.path.startswith("/agent/"):
            return await call_next(request)
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
        if problem:
            return _problem(422, problem)
        return await call_next(request)


def _shape_problem(path: str, payload: Any) -> str | None:
    if path.endswith(("/invoke", "/stream", "/stream_log", "/stream_events", "/batch")):
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


def create_app(settings: Configuration | None = None) -> FastAPI:
    settings = settings or Configuration.from_env()
    agent = Agent(settings)
    app = FastAPI(title="vetted-rag", version="0.1.0",
                  description="Answers from a knowledge base, graded before they are released.")
    app.add_middleware(RequestGuard)

    async def run(request: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        ask = AskRequest.model_validate(request)
        thread_id = (config.get("configurable") or {}).get("thread_id")
        result: AskResult = await agent.aask(
            ask.question, thread_id=thread_id, no_cache=ask.no_cache, callbacks=config.get("callbacks"),
            policy=ask.policy.model_dump(exclude_none=True) if ask.policy else None)
        return result.model_dump()

    def thread_from_header(run_config: dict[str, Any], request: Request) -> dict[str, Any]:
        thread = request.headers.get(THREAD_HEADER)
        if thread:
            run_config.setdefault("configurable", {})["thread_id"] = thread[:128]
        return run_config

    add_routes(app, RunnableLambda(run, name="vetted-rag"), path="/agent", input_type=AskRequest,
               output_type=AskResult, per_req_config_modifier=thread_from_header,
               config_keys=("configurable", "tags", "metadata"))

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
