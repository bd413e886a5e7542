"""What a model call cost: tokens from the provider's reported usage, priced per model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vetted_rag.graph.state import Usage

# USD per million tokens (input, output), as published by Cohere; the embedded and
# scripted models cost nothing. Override per model with `Configuration.prices_per_million`.
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "command-a-03-2025": (2.50, 10.00),
    "command-r-plus-08-2024": (2.50, 10.00),
    "command-r-08-2024": (0.15, 0.60),
    "command-r7b-12-2024": (0.0375, 0.15),
}


def price_of(model: str, overrides: Mapping[str, Any]) -> tuple[float, float]:
    name = model.split(":", 1)[-1]
    override = overrides.get(model) or overrides.get(name)
    if override:
        return float(override[0]), float(override[1])
    return PRICES_PER_MILLION.get(name, (0.0, 0.0))


def usage_of(message: Any, model: str, overrides: Mapping[str, Any]) -> Usage:
    """Tokens from the provider's usage metadata (counted locally by the embedded model), priced."""
    meta = getattr(message, "usage_metadata", None) or {}
    tokens_in, tokens_out = int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))
    price_in, price_out = price_of(model, overrides)
    return {
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "total_tokens": tokens_in + tokens_out,
        "cost_usd": (tokens_in * price_in + tokens_out * price_out) / 1_000_000,
        "calls": 1,
    }
