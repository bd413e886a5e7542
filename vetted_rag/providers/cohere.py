"""Cohere chat models (langchain-cohere) with retries left to `call_model`."""

from __future__ import annotations

from typing import Any

from langchain_cohere import ChatCohere
from langchain_core.language_models import LanguageModelInput
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from vetted_rag.providers.structured import structured_runnable


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

    def with_structured_output(self, schema: Any, *, include_raw: bool = False,
                               **kwargs: Any) -> Runnable[LanguageModelInput, Any]:
        """The schema as a tool; its call's arguments parsed by the shared parser.

        langchain-cohere 0.6 forwards `include_raw` to the API as a request field, and its
        json_schema mode sends `response_format.schema`, which the v2 reference does not have
        (`json_schema`); both caught by the v2 stand-in.
        """
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise NotImplementedError("structured output from Cohere takes Pydantic schemas here")
        return structured_runnable(self.bind_tools([schema]), schema, include_raw)


def cohere_chat_model(model: str, api_key: str, temperature: float, max_tokens: int,
                      base_url: str | None) -> ChatCohere:
    # An explicit model= keeps the constructor offline.
    options: dict[str, Any] = {"base_url": base_url} if base_url else {}
    return ChatCohereWithoutSdkRetries(model=model, cohere_api_key=api_key, temperature=temperature,
                                       max_tokens=max_tokens, **options)
