"""Token and cost accounting, budget checks and loop detection for one run."""

from __future__ import annotations

import time
from difflib import SequenceMatcher
from typing import Any

from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import State, Usage

# USD per million tokens (input, output), as published by Cohere; the embedded and
# scripted models cost nothing. Override per model with `Configuration.prices_per_million`.
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "command-a-03-2025": (2.50, 10.00),
    "command-r-plus-08-2024": (2.50, 10.00),
    "command-r-08-2024": (0.15, 0.60),
    "command-r7b-12-2024": (0.0375, 0.15),
}

# Steps a retry needs before the graph can still finish cleanly (retry, retrieve,
# generate, self_check, grade x2, finalize, cache_store).
STEPS_TO_FINISH_AN_ATTEMPT = 8


def price_of(model: str, config: Configuration) -> tuple[float, float]:
    name = model.split(":", 1)[-1]
    override = config.prices_per_million.get(model) or config.prices_per_million.get(name)
    if override:
        return float(override[0]), float(override[1])
    return PRICES_PER_MILLION.get(name, (0.0, 0.0))


def usage_of(message: Any, model: str, config: Configuration) -> Usage:
    """Tokens from the provider's usage metadata (counted locally by the embedded model), priced."""
    meta = getattr(message, "usage_metadata", None) or {}
    tokens_in, tokens_out = int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))
    price_in, price_out = price_of(model, config)
    return {
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "total_tokens": tokens_in + tokens_out,
        "cost_usd": (tokens_in * price_in + tokens_out * price_out) / 1_000_000,
        "calls": 1,
    }


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
