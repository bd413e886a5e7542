"""retrieve: similarity search in the knowledge base; injection-screened passages are dropped."""

from __future__ import annotations

import asyncio

from langgraph.runtime import Runtime

from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import State
from vetted_rag.knowledge.store import open_knowledge_base
from vetted_rag.nodes import configuration, note
from vetted_rag.security.screening import screen_passages


async def retrieve(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    query = state.get("query") or state["question"]
    kb = await asyncio.to_thread(open_knowledge_base, config)  # opening a store touches the disk
    await asyncio.to_thread(kb.ensure_sample)  # no-op unless the public collection is empty
    found = await asyncio.to_thread(kb.search, query, config.top_k, config.relevance_threshold)
    kept, dropped = screen_passages(found)
    decision = "found" if kept else "nothing relevant"
    reason = (f"{len(kept)} passage(s) at cosine >= {config.relevance_threshold}"
              + (f"; {len(dropped)} dropped by injection screening" if dropped else ""))
    return {
        "passages": kept,
        "dropped_passages": dropped,
        "trace": note(decision, reason, query=query, passages=[{"id": p["id"], "score": p["score"]} for p in kept],
                      dropped=dropped),
    }
