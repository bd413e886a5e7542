"""Graph nodes: each a small async function of (state, runtime) -> state update.

Nodes describe their decision in `trace` as `note(decision, reason, **details)`; the
graph's `traced` wrapper adds node name, timing and usage.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from vetted_rag.graph.configuration import Configuration


def configuration(runtime: Runtime[Configuration] | None) -> Configuration:
    """The run's configuration; LangServe passes no runtime context, so fall back to the environment."""
    context = getattr(runtime, "context", None)
    if isinstance(context, Configuration):
        return context
    if isinstance(context, dict):  # Studio / LangGraph Server: the run's context over the environment
        return Configuration.from_env(**context)
    return Configuration.from_env()


def note(decision: str, reason: str = "", **details: Any) -> list[dict[str, Any]]:
    return [{"decision": decision, "reason": reason, "details": details}]
