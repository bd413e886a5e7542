"""The graded loop: prepare → contextualize → cache_lookup → retrieve → generate → self_check → grade_hallucination
→ grade_answer → finalize → cache_store, with retry (rewrite → retrieve, or regenerate) until the
checks pass or a budget is spent.

Every model call goes through `providers.call_model`, which applies the run's policy per call
(budget before and after, per-call timeout, retries with backoff) — so a per-run policy really
applies, which limits frozen into the compiled graph (`RetryPolicy`, node `timeout`) could not.
A failure that survives its retries, or a budget a call cannot fit, reaches `provider_failed`,
which ends the run through `finalize`: status `error`, or `unverified` for a budget.
"""

from __future__ import annotations

import time

from langgraph.errors import NodeError
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from vetted_rag.admission import Busy
from vetted_rag.graph.configuration import Context
from vetted_rag.graph.state import InputState, OutputState, State
from vetted_rag.nodes import note
from vetted_rag.nodes.cache_lookup import cache_lookup
from vetted_rag.nodes.cache_store import cache_store
from vetted_rag.nodes.contextualize import contextualize
from vetted_rag.nodes.finalize import finalize
from vetted_rag.nodes.generate import generate
from vetted_rag.nodes.grade_answer import grade_answer
from vetted_rag.nodes.grade_hallucination import grade_hallucination
from vetted_rag.nodes.prepare import prepare
from vetted_rag.nodes.retrieve import retrieve
from vetted_rag.nodes.retry import retry
from vetted_rag.nodes.self_check import self_check
from vetted_rag.observability import complete, limit_event, traced
from vetted_rag.providers import BudgetExceeded

MODEL_NODES = ("contextualize", "cache_lookup", "generate", "grade_hallucination", "grade_answer", "retry")


def provider_failed(state: State, error: NodeError) -> Command:
    """End the run cleanly: no model slot within the wait limit is `busy`; a budget that a model
    call cannot fit (or crossed) is `unverified` with the counted totals; a provider failure that
    survived its retries is `error`."""
    events = list(getattr(error.error, "limit_events", []))
    if isinstance(error.error, Busy):
        limit_event("busy", error.error.reason)
        update = {"status": "busy", "stop_reason": error.error.reason,
                  "trace": events + note("busy", error.error.reason, retry_after_s=error.error.retry_after_s)}
    elif isinstance(error.error, BudgetExceeded):
        limit_event("budget_stop", error.error.reason, limit=error.error.limit)
        reason = error.error.reason
        update = {"status": "unverified", "stop_reason": reason, "usage": error.error.usage,
                  "trace": events + note("stop", reason, limit=error.error.limit)}
    else:
        reason = f"{error.node} failed: {error.error}"
        update = {"status": "error", "stop_reason": reason, "trace": events + note("error", reason)}
    complete(update, error.node, time.time(), 0.0, state.get("run_id"))
    return Command(update=update, goto="finalize")


# ---- routing ----------------------------------------------------------------------------


def after_prepare(state: State) -> str:
    return "finalize" if state.get("status") else "contextualize"


def after_cache_lookup(state: State) -> str:
    return "finalize" if (state.get("cache") or {}).get("hit") else "retrieve"


def after_retrieve(state: State) -> str:
    return "generate" if state.get("passages") else "finalize"


def after_generate(state: State) -> str:
    return "finalize" if state.get("retry_action") == "stop" else "self_check"


def after_self_check(state: State) -> str:
    check = state.get("code_check") or {}
    return "retry" if check.get("ran") and not check.get("ok") else "grade_hallucination"


def after_grade_hallucination(state: State) -> str:
    return "grade_answer" if state["hallucination_grade"]["binary_score"] == "yes" else "retry"


def after_grade_answer(state: State) -> str:
    return "finalize" if state["answer_grade"]["binary_score"] == "yes" else "retry"


def after_retry(state: State) -> str:
    return {"rewrite": "retrieve", "regenerate": "generate"}.get(state.get("retry_action", "stop"), "finalize")


# ---- wiring -----------------------------------------------------------------------------


# Every node as the graph runs it: traced (events, timing, metrics). The hit path (graph/hit_path.py)
# runs the same callables.
NODES = {name: traced(name, node) for name, node in {
    "prepare": prepare, "contextualize": contextualize, "cache_lookup": cache_lookup, "retrieve": retrieve,
    "generate": generate, "self_check": self_check, "grade_hallucination": grade_hallucination,
    "grade_answer": grade_answer, "retry": retry, "finalize": finalize, "cache_store": cache_store}.items()}


def build_graph() -> StateGraph:
    """The uncompiled graph. It holds no policy: each run's context carries it."""
    builder = StateGraph(State, context_schema=Context, input_schema=InputState, output_schema=OutputState)
    for name, node in NODES.items():
        if name in MODEL_NODES:
            builder.add_node(name, node, error_handler=provider_failed)
        else:
            builder.add_node(name, node)
    builder.add_edge(START, "prepare")
    builder.add_conditional_edges("prepare", after_prepare, ["contextualize", "finalize"])
    builder.add_edge("contextualize", "cache_lookup")
    builder.add_conditional_edges("cache_lookup", after_cache_lookup, ["retrieve", "finalize"])
    builder.add_conditional_edges("retrieve", after_retrieve, ["generate", "finalize"])
    builder.add_conditional_edges("generate", after_generate, ["self_check", "finalize"])
    builder.add_conditional_edges("self_check", after_self_check, ["grade_hallucination", "retry"])
    builder.add_conditional_edges("grade_hallucination", after_grade_hallucination, ["grade_answer", "retry"])
    builder.add_conditional_edges("grade_answer", after_grade_answer, ["finalize", "retry"])
    builder.add_conditional_edges("retry", after_retry, ["retrieve", "generate", "finalize"])
    builder.add_edge("finalize", "cache_store")
    builder.add_edge("cache_store", END)
    return builder


def diagram(compiled) -> str:
    """Mermaid for readers: LangGraph's per-node `__error_handler__*` helpers are left out (every
    model node ends the run through `finalize` with status `error` once its retries are spent)."""
    drawn = compiled.get_graph()
    for node in [n for n in drawn.nodes.values() if n.id.startswith("__error_handler__")]:
        drawn.remove_node(node)
    return drawn.draw_mermaid()


# LangGraph Studio / Server entry (langgraph.json): compiled without a checkpointer, the
# server brings its own.
graph = build_graph().compile(name="vetted-rag")
