"""The hit path: a run the cache can answer, without the graph engine.

A cache hit (or a refused question) runs four cheap nodes; through LangGraph's engine that was
most of a hit's CPU time (bench/RESULTS.md, hit path). Here the graph's own node callables run in
the graph's order, routed by the graph's own routing functions, and their updates are folded with
the graph's own reducers (read from `State`'s annotations). A miss hands over what the lookup
found (`looked_up`), so the graph does not look up, or count a miss, twice.
"""

from __future__ import annotations

import typing
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.graph import NODES, after_cache_lookup, after_prepare
from vetted_rag.graph.state import State

# `State`'s reducers (functions); `remaining_steps` is a managed value (a class), which a run without
# the engine does not have and the nodes read with a default.
REDUCERS = {name: typing.get_args(hint)[1] for name, hint in typing.get_type_hints(State, include_extras=True).items()
            if typing.get_origin(hint) is typing.Annotated and not isinstance(typing.get_args(hint)[1], type)}


def fold(state: dict[str, Any], update: dict[str, Any]) -> None:
    """Apply one node's update as LangGraph would: reducers where `State` declares one, else replace."""
    for key, value in update.items():
        if isinstance(value, Overwrite):
            state[key] = value.value
        elif key in REDUCERS and key in state:
            state[key] = REDUCERS[key](state[key], value)
        else:
            state[key] = value


async def answer_from_cache(inputs: dict[str, Any], config: Configuration) -> tuple[dict[str, Any] | None, dict]:
    """(final state, None) for a hit or a refusal; (None, looked_up) when the graph must run."""
    runtime = Runtime(context=config)
    state: dict[str, Any] = dict(inputs)
    fold(state, await NODES["prepare"](state, runtime))
    if after_prepare(state) == "contextualize":
        fold(state, await NODES["contextualize"](state, runtime))
        before = len(state.get("trace", []))
        try:
            fold(state, await NODES["cache_lookup"](state, runtime))
        except Exception:  # noqa: BLE001 - e.g. the LLM verifying a semantic hit failed or was over budget:
            return None, {}  # the graph runs the lookup again and its error handler gives the run its status
        if after_cache_lookup(state) != "finalize":
            # The lookup's own notes, re-stamped when the graph's cache_lookup hands them on.
            notes = [{k: e[k] for k in ("decision", "reason", "details")} for e in state["trace"][before:]]
            return None, {"cache": state.get("cache", {}), "trace": notes, "usage": state.get("usage") or {}}
    for name in ("finalize", "cache_store"):
        fold(state, await NODES[name](state, runtime))
    return state, {}
