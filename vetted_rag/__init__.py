"""vetted-rag: a LangGraph RAG agent that lets no answer out until it has been graded.

    from vetted_rag import Agent, Configuration
    result = Agent(Configuration(chat_model="embedded")).ask("How do I set a cost budget?")
    result.status, result.answer, result.citations

The names below are imported on first use, so `vetted-rag --help` and other light commands
start without loading LangGraph, Chroma or the models.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Agent": "vetted_rag.api", "AskResult": "vetted_rag.api", "ask": "vetted_rag.api",
    "Configuration": "vetted_rag.graph.configuration", "RunPolicy": "vetted_rag.graph.configuration",
    "build_graph": "vetted_rag.graph.graph",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'vetted_rag' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
