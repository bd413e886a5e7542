"""cache_store: keep a vetted answer for later questions. Only `answered` runs that did not come from the cache."""

from __future__ import annotations

import asyncio

from langgraph.runtime import Runtime

from vetted_rag.cache import open_cache
from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import State
from vetted_rag.nodes import asked, configuration, note


async def cache_store(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    if state.get("status") != "answered" or (state.get("cache") or {}).get("hit"):
        return {"trace": note("skip", "only fresh answered runs are stored")}
    if not config.cache_enabled or state.get("no_cache"):
        return {"trace": note("skip", "cache disabled for this run")}
    cache = await asyncio.to_thread(open_cache, config)
    # `answer` is what was released (redacted when configured), so the cache never holds more.
    stored = await asyncio.to_thread(cache.store, asked(state), state.get("answer") or "",
                                     state.get("passages", []), state.get("grades", []), state.get("usage") or {})
    return {"trace": note("stored" if stored else "skip", "vetted answer cached" if stored else "cache unavailable")}
