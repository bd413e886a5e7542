"""retrieve: hybrid search in the knowledge base (vector + BM25, knowledge/store.py); injection-screened
passages are dropped. A query searched again (a rewrite that repeated it) gets its next `top_k`
passages: the ones before were already answered from."""

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
    depth = max(state.get("queries", []).count(query) - 1, 0)
    kb = await asyncio.to_thread(open_knowledge_base, config)  # opening a store touches the disk
    await asyncio.to_thread(kb.ensure_sample)  # no-op unless the public collection is empty
    found = await asyncio.to_thread(kb.search, query, config.top_k * (depth + 1), config.relevance_threshold)
    kept, dropped = screen_passages(found[config.top_k * depth:])
    decision = "found" if kept else "nothing relevant"
    reason = (f"{len(kept)} passage(s) at cosine >= {config.relevance_threshold} or naming the question's words"
              + (f", after the first {config.top_k * depth} of this query" if depth else "")
              + (f"; {len(dropped)} dropped by injection screening" if dropped else ""))
    deeper_found_nothing = {"stop_reason": "loop detected: the rewritten question repeats an earlier query, and no "
                                           "further passage is relevant"} if depth and not kept else {}
    return deeper_found_nothing | {
        "passages": kept,
        "dropped_passages": dropped,
        "trace": note(decision, reason, query=query, passages=[{"id": p["id"], "score": p["score"]} for p in kept],
                      dropped=dropped),
    }
