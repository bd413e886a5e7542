"""Decision traces, structured logs and Prometheus metrics.

Every node runs inside `traced`, which completes the node's trace note with the node
name, start time, duration and the tokens/cost of the step, logs it as one JSON line
(PII and secrets redacted) and feeds the latency histogram. Finished runs are stored in
SQLite by `TraceStore` so `vetted-rag trace RUN_ID` and `/admin/traces/{id}` can show them.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

from langgraph.types import Command, Overwrite
from prometheus_client import Counter, Histogram

from vetted_rag.security.redaction import redact_obj

log = logging.getLogger("vetted_rag")

RUNS = Counter("vetted_rag_runs_total", "Runs by final status", ["status"])
ATTEMPTS = Histogram("vetted_rag_attempts_per_run", "Graded attempts per run", buckets=(0, 1, 2, 3, 4, 5, 8))
GRADES = Counter("vetted_rag_grades_total", "Grader verdicts", ["grader", "score"])
CACHE_LOOKUPS = Counter("vetted_rag_cache_lookups_total", "Cache lookups by result", ["result"])
TOKENS = Counter("vetted_rag_tokens_total", "Tokens by model and direction", ["model", "direction"])
COST = Counter("vetted_rag_cost_usd_total", "Cost in USD by model", ["model"])
NODE_SECONDS = Histogram("vetted_rag_node_seconds", "Node latency", ["node"])
PROVIDER_ERRORS = Counter("vetted_rag_provider_errors_total", "Failed model-calling node attempts", ["node", "kind"])


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {"ts": round(record.created, 3), "level": record.levelname, "logger": record.name,
                   "msg": record.getMessage()}
        payload.update(getattr(record, "fields", {}))
        return json.dumps(redact_obj(payload), default=str)


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter("%(levelname)s %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def traced(name: str, node: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wrap a node so its trace notes become complete events. Keeps the node's signature
    (LangGraph injects `runtime` by it)."""

    @functools.wraps(node)
    async def wrapper(state: dict, *args: Any, **kwargs: Any) -> Any:
        started, clock = time.time(), time.perf_counter()
        try:
            result = await node(state, *args, **kwargs)
        except Exception as exc:
            PROVIDER_ERRORS.labels(node=name, kind=type(exc).__name__).inc()
            raise
        seconds = time.perf_counter() - clock
        NODE_SECONDS.labels(node=name).observe(seconds)
        update = result.update if isinstance(result, Command) else result
        complete(update, name, started, seconds, state.get("run_id"))
        return result

    return wrapper


def complete(update: dict, node: str, started: float, seconds: float, run_id: str | None) -> None:
    """Turn the notes in `update['trace']` into full events (in place) and log them."""
    trace = update.get("trace")
    overwrite = isinstance(trace, Overwrite)
    notes = trace.value if overwrite else (trace or [])
    usage = update.get("usage")
    usage = usage.value if isinstance(usage, Overwrite) else (usage or {})
    # Items that already carry a node are earlier events a node passed through (finalize's scrub).
    new = [{"node": node, "started_at": round(started, 3), "duration_ms": round(seconds * 1000, 1),
            "decision": n.get("decision", ""), "reason": n.get("reason", ""),
            "details": n.get("details", {}), "usage": dict(usage)} for n in notes if "node" not in n]
    events = [n for n in notes if "node" in n] + new
    update["trace"] = Overwrite(events) if overwrite else events
    for event in new:
        log.info("%s: %s", node, event["decision"],
                 extra={"fields": {"run_id": run_id or update.get("run_id"), **event}})


def record_run(result: dict, model: str) -> None:
    """Count a finished run in the metrics."""
    RUNS.labels(status=result.get("status", "error")).inc()
    ATTEMPTS.observe(result.get("iterations", 0))
    usage = result.get("usage") or {}
    TOKENS.labels(model=model, direction="input").inc(usage.get("input_tokens", 0))
    TOKENS.labels(model=model, direction="output").inc(usage.get("output_tokens", 0))
    COST.labels(model=model).inc(usage.get("cost_usd", 0.0))


class TraceStore:
    """Finished runs (result with trace), redacted, in SQLite; old ones pruned by retention."""

    def __init__(self, path: Path, retention_days: int = 30) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.Lock()
        self._retention_s = retention_days * 86400
        with self._lock, self._db:
            self._db.execute("CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, created REAL, "
                             "status TEXT, question TEXT, result TEXT)")

    def save(self, result: dict) -> None:
        clean = redact_obj(result)
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?)",
                             (result["run_id"], time.time(), result.get("status"), clean.get("question", ""),
                              json.dumps(clean, default=str)))
            self._db.execute("DELETE FROM runs WHERE created < ?", (time.time() - self._retention_s,))

    def get(self, run_id: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT result FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT run_id, created, status, question FROM runs ORDER BY created DESC LIMIT ?",
                                    (limit,)).fetchall()
        return [{"run_id": r[0], "created": r[1], "status": r[2], "question": r[3]} for r in rows]


_STORES: dict[tuple[str, int], TraceStore] = {}


def trace_store(data_dir: Path, retention_days: int) -> TraceStore:
    key = (str(data_dir), retention_days)
    if key not in _STORES:
        _STORES[key] = TraceStore(data_dir / "traces.sqlite", retention_days)
    return _STORES[key]
