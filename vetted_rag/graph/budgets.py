"""Budget checks between attempts and loop detection for one run (per-call checks: `providers.call_model`)."""

from __future__ import annotations

import time
from difflib import SequenceMatcher

from vetted_rag.graph.configuration import STEPS_TO_FINISH_AN_ATTEMPT, Configuration
from vetted_rag.graph.state import State


def exhausted(state: State, config: Configuration) -> str | None:
    """Why the run must stop now, or None while every budget allows another attempt."""
    policy = config.policy
    usage = state.get("usage") or {}
    if state.get("attempts", 0) >= policy.max_iterations:
        return f"iteration budget spent: {state.get('attempts', 0)} of {policy.max_iterations} graded attempts"
    if state.get("deadline") and time.time() >= state["deadline"]:
        return f"wall-clock limit of {policy.max_execution_time_s:g}s reached"
    if policy.max_total_tokens is not None and usage.get("total_tokens", 0) >= policy.max_total_tokens:
        return f"token budget spent: {usage.get('total_tokens', 0)} of {policy.max_total_tokens} tokens"
    if policy.max_cost_usd is not None and usage.get("cost_usd", 0.0) >= policy.max_cost_usd:
        return f"cost budget spent: ${usage.get('cost_usd', 0.0):.6f} of ${policy.max_cost_usd:g}"
    if state.get("remaining_steps", STEPS_TO_FINISH_AN_ATTEMPT) < STEPS_TO_FINISH_AN_ATTEMPT:
        return f"recursion limit of {policy.effective_recursion_limit} steps leaves no room for another attempt"
    return None


def near_duplicate(candidate: str, earlier: list[str], threshold: float) -> str | None:
    """The earlier text that `candidate` (near-)repeats, if any."""
    norm = " ".join(candidate.lower().split())
    for previous in earlier:
        if SequenceMatcher(None, norm, " ".join(previous.lower().split())).ratio() >= threshold:
            return previous
    return None
