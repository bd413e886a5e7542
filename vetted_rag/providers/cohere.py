"""Cohere chat models (langchain-cohere) with retries left to `call_model`."""

from __future__ import annotations

from typing import Any

from langchain_cohere import ChatCohere


class ChatCohereWithoutSdkRetries(ChatCohere):
    """ChatCohere whose SDK makes exactly one HTTP request per call.

    The Cohere SDK retries 429 and 5xx twice on its own (its `request_options.max_retries`
    defaults to 2, and langchain-cohere does not set it), which would multiply the run's own
    retries and hide them from the trace. Measured against the loopback stand-in of the v2
    chat API (tests/providers/test_cohere_wire.py).
    """

    @property
    def _default_params(self) -> dict[str, Any]:
        return {**super()._default_params, "request_options": {"max_retries": 0}}


def cohere_chat_model(model: str, api_key: str, temperature: float, max_tokens: int,
                      base_url: str | None) -> ChatCohere:
    # An explicit model= keeps the constructor offline.
    options: dict[str, Any] = {"base_url": base_url} if base_url else {}
    return ChatCohereWithoutSdkRetries(model=model, cohere_api_key=api_key, temperature=temperature,
                                       max_tokens=max_tokens, **options)
