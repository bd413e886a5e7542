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
import logging.config
import queue
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from concurrent.futures import Future
from contextvars import ContextVar
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
CACHE_SAVED_TOKENS = Counter("vetted_rag_cache_saved_tokens_total", "Tokens not spent thanks to cache hits")
CACHE_SAVED_COST = Counter("vetted_rag_cache_saved_cost_usd_total", "Cost not spent thanks to cache hits")
TOKENS = Counter("vetted_rag_tokens_total", "Tokens by model and direction", ["model", "direction"])
COST = Counter("vetted_rag_cost_usd_total", "Cost in USD by model", ["model"])
NODE_SECONDS = Histogram("vetted_rag_node_seconds", "Node latency", ["node"])
PROVIDER_ERRORS = Counter("vetted_rag_provider_errors_total", "Failed model-call attempts by node and kind",
                          ["node", "kind"])
LIMIT_EVENTS = Counter("vetted_rag_limit_events_total",
                       "Model-call timeouts, retries, provider errors and budget stops", ["node", "event"])

# The limit events of the node running in this task (set by `traced`, filled by `limit_event`).
_NODE: ContextVar[tuple[str, list[dict[str, Any]]] | None] = ContextVar("vetted_rag_node", default=None)


def limit_event(event: str, reason: str, **details: Any) -> None:
    """Record a timeout, retry, provider error or budget stop: a trace event of the running node and
    a count in /metrics."""
    current = _NODE.get()
    node = current[0] if current else "outside-graph"
    LIMIT_EVENTS.labels(node=node, event=event).inc()
    if event == "provider_error":
        PROVIDER_ERRORS.labels(node=node, kind="transient" if details.get("transient") else "permanent").inc()
    if current:
        current[1].append({"decision": event, "reason": reason, "details": details})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {"ts": round(record.created, 3), "level": record.levelname, "logger": record.name,
                   "msg": record.getMessage()}
        payload.update(getattr(record, "fields", {}))
        return json.dumps(redact_obj(payload), default=str)


def logging_config(fmt: str = "json", level: str = "INFO") -> dict[str, Any]:
    """One `logging.config.dictConfig` for the whole process: ours, uvicorn's and LangServe's lines
    all go through the same handler, so a JSON-logging server writes only JSON lines."""
    formatter = ({"()": f"{__name__}.JsonFormatter"} if fmt == "json"
                 else {"format": "%(levelname)s %(name)s: %(message)s"})
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": {"class": "logging.StreamHandler", "formatter": "main"}},
        "root": {"handlers": ["main"], "level": "WARNING"},
        "loggers": {name: {"handlers": ["main"], "level": level, "propagate": False}
                    for name in ("vetted_rag", "uvicorn", "uvicorn.error", "uvicorn.access")},
    }


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(fmt, level))


def traced(name: str, node: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wrap a node so its trace notes become complete events. Keeps the node's signature
    (LangGraph injects `runtime` by it)."""

    @functools.wraps(node)
    async def wrapper(state: dict, *args: Any, **kwargs: Any) -> Any:
        started, clock = time.time(), time.perf_counter()
        events: list[dict[str, Any]] = []
        token = _NODE.set((name, events))
        try:
            result = await node(state, *args, **kwargs)
        except Exception as exc:
            exc.limit_events = events  # type: ignore[attr-defined]  # the error handler puts them in the trace
            raise
        finally:
            _NODE.reset(token)
        seconds = time.perf_counter() - clock
        NODE_SECONDS.labels(node=name).observe(seconds)
        update = result.update if isinstance(result, Command) else result
        if events:
            trace = update.get("trace")
            update["trace"] = (Overwrite(events + trace.value) if isinstance(trace, Overwrite)
                               else events + list(trace or []))
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


class TraceStore(ABC):
    """Finished runs (result with trace), redacted, pruned after the retention period.
    SQLite on one machine; Postgres when several replicas must share them.

    Writes are group-committed: one writer thread commits every run queued meanwhile in one
    transaction, and each caller waits for its own commit. Under load, runs share a commit instead
    of each waiting for its own, and a run is still stored when `save` returns."""

    PRUNE_EVERY_S = 60.0  # retention is in days: pruning on every save only costs a write
    MAX_BATCH = 256

    def __init__(self, retention_days: int) -> None:
        self._retention_s = retention_days * 86400
        self._lock = threading.Lock()
        self._pruned_at = 0.0
        self._queue: queue.SimpleQueue[tuple[dict, Future]] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()

    @abstractmethod
    def _execute(self, sql: str, params: tuple = ()) -> list[tuple]: ...

    @abstractmethod
    def _execute_many(self, sql: str, rows: list[tuple]) -> None:
        """Run `sql` for every row in one transaction."""

    def save(self, result: dict) -> None:
        """Store a finished run; returns once it is committed."""
        self.submit(result).result()

    def submit(self, result: dict) -> Future:
        """Queue a finished run for the writer; the future resolves when it is committed (or fails)."""
        future: Future = Future()
        self._queue.put((result, future))
        if self._writer is None:
            with self._writer_lock:
                if self._writer is None:
                    self._writer = threading.Thread(target=self._write_forever, name="trace-writer", daemon=True)
                    self._writer.start()
        return future

    def _write_forever(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                now = time.time()
                rows = []
                for result, _ in batch:
                    clean = redact_obj(result)
                    rows.append((result["run_id"], now, result.get("status"), clean.get("question", ""),
                                 json.dumps(clean, default=str)))
                with self._lock:
                    self._execute_many(self.UPSERT, rows)
                    if now - self._pruned_at >= self.PRUNE_EVERY_S:
                        self._prune(now)
            except Exception as exc:  # noqa: BLE001 - each waiting caller gets the failure
                for _, future in batch:
                    future.set_exception(exc)
            else:
                for _, future in batch:
                    future.set_result(None)

    def prune(self) -> None:
        """Delete runs older than the retention period now (saves do it at most once a minute)."""
        with self._lock:
            self._prune(time.time())

    def _prune(self, now: float) -> None:
        self._execute(self.PRUNE, (now - self._retention_s,))
        self._pruned_at = now

    def get(self, run_id: str) -> dict | None:
        with self._lock:
            rows = self._execute(self.GET, (run_id,))
        return json.loads(rows[0][0]) if rows else None

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._execute(self.RECENT, (limit,))
        return [{"run_id": r[0], "created": r[1], "status": r[2], "question": r[3]} for r in rows]


_TABLE = "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, created DOUBLE PRECISION, status TEXT, question TEXT, result TEXT)"
_CREATED_INDEX = "CREATE INDEX IF NOT EXISTS runs_created ON runs (created)"


class SqliteTraceStore(TraceStore):
    UPSERT = "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?)"
    PRUNE = "DELETE FROM runs WHERE created < ?"
    GET = "SELECT result FROM runs WHERE run_id = ?"
    RECENT = "SELECT run_id, created, status, question FROM runs ORDER BY created DESC LIMIT ?"

    def __init__(self, path: Path, retention_days: int = 30) -> None:
        super().__init__(retention_days)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        # WAL with synchronous=NORMAL: a commit survives a crash of the process (not of the OS) without an
        # fsync per run, which cost ~17 ms and serialised requests (bench/hit_path.py).
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._execute(_TABLE)
        self._execute(_CREATED_INDEX)

    def _execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._db:
            return self._db.execute(sql, params).fetchall()

    def _execute_many(self, sql: str, rows: list[tuple]) -> None:
        with self._db:
            self._db.executemany(sql, rows)


class PostgresTraceStore(TraceStore):
    UPSERT = ("INSERT INTO runs VALUES (%s, %s, %s, %s, %s) ON CONFLICT (run_id) DO UPDATE SET "
              "created = EXCLUDED.created, status = EXCLUDED.status, question = EXCLUDED.question, result = EXCLUDED.result")
    PRUNE = "DELETE FROM runs WHERE created < %s"
    GET = "SELECT result FROM runs WHERE run_id = %s"
    RECENT = "SELECT run_id, created, status, question FROM runs ORDER BY created DESC LIMIT %s"

    def __init__(self, url: str, retention_days: int = 30) -> None:
        import psycopg

        super().__init__(retention_days)
        self._db = psycopg.connect(url, autocommit=True)
        self._execute(_TABLE)
        self._execute(_CREATED_INDEX)

    def _execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def _execute_many(self, sql: str, rows: list[tuple]) -> None:
        with self._db.transaction(), self._db.cursor() as cursor:
            cursor.executemany(sql, rows)


_STORES: dict[tuple, TraceStore] = {}
_STORES_LOCK = threading.Lock()  # concurrent first use must not open two stores on one database


def trace_store(config: Any) -> TraceStore:
    """The trace store of a configuration: Postgres when `postgres_url` is set, else SQLite."""
    key = (config.postgres_url or str(config.data_path), config.trace_retention_days)
    with _STORES_LOCK:
        if key not in _STORES:
            _STORES[key] = (PostgresTraceStore(config.postgres_url, config.trace_retention_days) if config.postgres_url
                            else SqliteTraceStore(config.data_path / "traces.sqlite", config.trace_retention_days))
        return _STORES[key]
