"""Graph nodes: each a small async function of (state, runtime) -> state update.

Nodes describe their decision in `trace` as `note(decision, reason, **details)`; the
graph's `traced` wrapper adds node name, timing and usage.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel

from vetted_rag.graph.configuration import ENV_PREFIX, Configuration, Context
from vetted_rag.graph.state import Score, Usage
from vetted_rag.providers import call_model

GRADER_MAX_TOKENS = 80


@lru_cache(maxsize=4)
def _deployed(environment: tuple[tuple[str, str], ...]) -> Configuration:
    """The deployment's configuration for this VETTED_RAG_* environment, resolved once, not per node."""
    return Configuration.from_env(dict(environment))


def configuration(runtime: Runtime[Context | Configuration] | None) -> Configuration:
    """The run's configuration. The Python API, CLI and HTTP server pass the full configuration
    they resolved; Studio / LangGraph Server pass a `Context`, applied over the deployment's
    configuration from the environment."""
    context = getattr(runtime, "context", None)
    if isinstance(context, Configuration):
        return context
    deployed = _deployed(tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(ENV_PREFIX))))
    if isinstance(context, dict):
        context = Context(**context)
    return deployed.for_run(context) if isinstance(context, Context) else deployed


def asked(state: dict) -> str:
    """The question this run answers: the standalone rewrite of a follow-up, else the question."""
    return state.get("standalone") or state["question"]


def note(decision: str, reason: str = "", **details: Any) -> list[dict[str, Any]]:
    return [{"decision": decision, "reason": reason, "details": details}]


async def llm_verdict(config: Configuration, messages: list[BaseMessage], schema: type[BaseModel],
                      run: dict | None = None) -> tuple[Score, str, Usage]:
    """Ask the grader model for a yes/no verdict with a reason; malformed output (after its
    retry) counts as "no"."""
    reply = await call_model(config.grader, config, messages, schema=schema, max_tokens=GRADER_MAX_TOKENS, run=run)
    if reply.parsed is None:
        return "no", f"grader {reply.error}", reply.usage
    return reply.parsed.binary_score, f"grader: {reply.parsed.reason}", reply.usage
