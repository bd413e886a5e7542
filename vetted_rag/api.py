"""The Python entry point: `Agent(config).ask(question)` → `AskResult`, sync or async.

Each run gets an explicit recursion limit from its policy and a wall-clock limit that
really stops it (the run task is cancelled, which stops an in-process generation at its
next token). Whatever ends a run — answer, budget, time, recursion limit, provider
failure — comes back as a status, never as an exception, and its trace is stored.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Coroutine, TypeVar

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.errors import GraphRecursionError
from pydantic import BaseModel, Field

from vetted_rag.admission import CURRENT_TICKET, RunTicket, model_gate
from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.graph import build_graph
from vetted_rag.graph.hit_path import answer_from_cache
from vetted_rag.graph.state import Status
from vetted_rag.observability import log, record_run, trace_store

T = TypeVar("T")


class AskResult(BaseModel):
    """The outcome of one run. `status` is `answered` only when every check passed."""

    run_id: str
    question: str
    status: Status
    answer: str | None = None
    stop_reason: str = ""
    citations: list[dict[str, Any]] = Field(default_factory=list)
    grades: list[dict[str, Any]] = Field(default_factory=list)
    iterations: int = 0
    usage: dict[str, Any] = Field(default_factory=dict)
    queued_s: float = Field(default=0.0, description="Time spent waiting for a model slot (not run time)")
    trace: list[dict[str, Any]] = Field(default_factory=list)
    cache: dict[str, Any] = Field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return self.status == "answered"

    @property
    def cost_usd(self) -> float:
        return float(self.usage.get("cost_usd", 0.0))


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code, also from inside a running loop (e.g. Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@asynccontextmanager
async def checkpointer(config: Configuration) -> AsyncIterator[Any]:
    """Thread memory: LangGraph's Postgres saver when `postgres_url` is set (replicas share
    threads), else SQLite under the data directory."""
    if config.postgres_url:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        async with AsyncPostgresSaver.from_conn_string(config.postgres_url) as saver:
            await saver.setup()
            yield saver
        return
    path = config.data_path / "checkpoints.sqlite"
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        yield saver


def hosted_tracing(config: Configuration) -> list[Any]:
    """Optional hosted tracing. LangSmith needs no code (LANGSMITH_TRACING / LANGSMITH_API_KEY);
    Langfuse is attached here when configured."""
    if not config.langfuse:
        return []
    try:
        from langfuse.langchain import CallbackHandler
    except ImportError as exc:
        raise ValueError("VETTED_RAG_LANGFUSE is on but the langfuse package is not installed "
                         "(pip install langfuse)") from exc
    return [CallbackHandler()]


def _has_handlers(callbacks: Any) -> bool:
    """A callbacks list, or a LangChain callback manager (LangServe passes one), with any handler."""
    return bool(getattr(callbacks, "handlers", callbacks))


_RUN_ENDED = object()  # the last item of a run's event queue


class Agent:
    """The vetted-rag agent bound to one configuration."""

    def __init__(self, config: Configuration | None = None) -> None:
        self.config = config or Configuration.from_env()
        self._builder = build_graph()
        self.graph = self._builder.compile(name="vetted-rag")
        self._callbacks = hosted_tracing(self.config)

    def run_config(self, config: Configuration, thread_id: str | None, callbacks: Any = None) -> dict[str, Any]:
        run: dict[str, Any] = {"recursion_limit": config.policy.effective_recursion_limit}
        callbacks = self._with_hosted_tracing(callbacks)
        if callbacks:
            run["callbacks"] = callbacks  # lets a caller's stream_events (and Langfuse) see the graph's nodes
        if thread_id:
            run["configurable"] = {"thread_id": thread_id}
        return run

    def _with_hosted_tracing(self, incoming: Any) -> Any:
        """The caller's callbacks (a list or a LangChain callback manager) plus ours."""
        if not self._callbacks:
            return incoming
        if incoming is None or isinstance(incoming, list):
            return list(incoming or []) + self._callbacks
        manager = incoming.copy()
        for handler in self._callbacks:
            manager.add_handler(handler, inherit=True)
        return manager

    async def astream(self, question: str, *, thread_id: str | None = None, policy: dict[str, Any] | None = None,
                      no_cache: bool = False, run_id: str | None = None, config: Configuration | None = None,
                      callbacks: Any = None) -> AsyncIterator[dict[str, Any]]:
        """Yield each trace event as its node finishes, then `{"result": AskResult}`."""
        config = (config or self.config).with_policy(**(policy or {}))
        run_id = run_id or uuid.uuid4().hex
        inputs = {"question": question, "run_id": run_id, "no_cache": no_cache}
        state: dict[str, Any] = {}
        queue: asyncio.Queue = asyncio.Queue()

        async def drive() -> None:
            if thread_id:
                async with checkpointer(config) as saver:
                    await pump(self._builder.compile(checkpointer=saver, name="vetted-rag"))
                return
            if config.cache_enabled and not no_cache and not (_has_handlers(callbacks) or self._callbacks):
                # A hit needs no graph engine; callbacks expect the graph's own events.
                done, looked_up = await answer_from_cache(inputs, config)
                if done is not None:
                    state.update(done)
                    for event in done["trace"]:
                        await queue.put(event)
                    return
                inputs["looked_up"] = looked_up
            await pump(self.graph)

        async def pump(graph: Any) -> None:
            async for mode, chunk in graph.astream(inputs, self.run_config(config, thread_id, callbacks), context=config,
                                                   stream_mode=["updates", "values"]):
                if mode == "values":
                    state.clear()
                    state.update(chunk)  # reduced output state: the partial result if the run is stopped
                    continue
                for node_update in chunk.values():
                    trace = node_update.get("trace") if isinstance(node_update, dict) else None
                    for event in getattr(trace, "value", trace) or []:
                        await queue.put(event)

        task = asyncio.create_task(self._bounded(drive(), config, state, question, run_id))
        task.add_done_callback(lambda _: queue.put_nowait(_RUN_ENDED))  # after every event the run put
        try:
            while (event := await queue.get()) is not _RUN_ENDED:
                yield event
            yield {"result": task.result()}
        finally:
            task.cancel()  # a consumer that stops listening (client gone) stops the run too

    async def _bounded(self, run: Coroutine[Any, Any, None], config: Configuration, state: dict[str, Any],
                       question: str, run_id: str) -> AskResult:
        policy = config.policy
        ended: dict[str, Any] = {}
        ticket = RunTicket(model_gate(config.model_slots, config.admission_queue, config.admission_wait_s))
        CURRENT_TICKET.set(ticket)  # this task's context: the graph's node tasks inherit it
        try:
            await asyncio.wait_for(run, timeout=policy.max_execution_time_s)
        except (asyncio.TimeoutError, TimeoutError):
            ended = {"status": "unverified", "answer": None, "iterations": state.get("attempts", 0),
                     "stop_reason": f"wall-clock limit of {policy.max_execution_time_s:g}s reached; the run was stopped"}
        except GraphRecursionError:
            ended = {"status": "unverified", "answer": None,
                     "stop_reason": f"recursion limit of {policy.effective_recursion_limit} steps reached"}
        except Exception as exc:  # noqa: BLE001 - every end of a run is a status
            log.exception("run %s failed", run_id)
            ended = {"status": "error", "answer": None, "stop_reason": f"{type(exc).__name__}: {exc}"}
        finally:
            ticket.release()
        trace = list(state.get("trace") or [])
        if ended:
            trace.append({"node": "run", "started_at": round(time.time(), 3), "duration_ms": 0.0, "decision": "stop",
                          "reason": ended["stop_reason"], "details": {}, "usage": {}})
        result = AskResult(**{
            "question": question, "status": "unverified", **{k: state[k] for k in AskResult.model_fields if k in state},
            **ended, "run_id": run_id, "trace": trace, "queued_s": round(ticket.queued_s, 3),
            "citations": [] if ended else state.get("citations", []),
        })
        record_run(result.model_dump(), config.chat_model)
        await asyncio.wrap_future(trace_store(config).submit(result.model_dump()))  # returns once committed
        return result

    async def aask(self, question: str, **options: Any) -> AskResult:
        result = None
        async for item in self.astream(question, **options):
            result = item.get("result", result)
        assert result is not None
        return result

    def ask(self, question: str, **options: Any) -> AskResult:
        return run_sync(self.aask(question, **options))


_DEFAULT: Agent | None = None


def ask(question: str, **options: Any) -> AskResult:
    """Ask the default agent (configuration from the environment)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Agent()
    return _DEFAULT.ask(question, **options)
