"""Chat models by name, and the one way nodes call a model (structured or not) with accounting.

Names: `embedded` (packaged GGUF, in-process), `cohere:<model>` (langchain-cohere), any
LangChain `provider:model` (`init_chat_model`), `heuristic` (deterministic model-free
baseline for CI), or a name registered with
`register_chat_model` (tests register scripted models this way, so the graph and Studio
see only a string).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from pydantic import BaseModel

from vetted_rag.graph.budgets import usage_of
from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import Usage, add_usage
from vetted_rag.providers.local_gguf import LocalGGUFChatModel, LocalModelError
from vetted_rag.providers.packaged import PackagedModelMissing, packaged_gguf

_REGISTERED: dict[str, BaseChatModel] = {}

# A malformed structured reply is asked for again this many times, then counts as "no".
STRUCTURED_ATTEMPTS = 2


class ProviderError(RuntimeError):
    """A model provider failed in a way retrying will not fix (bad key, bad request, missing model)."""


class TransientProviderError(RuntimeError):
    """A provider failure worth retrying: timeout, rate limit, server error, connection loss."""


def register_chat_model(name: str, model: BaseChatModel) -> None:
    """Make `model` available as `Configuration(chat_model=name)` in this process."""
    _REGISTERED[name] = model


def load_chat_model(name: str, config: Configuration) -> BaseChatModel:
    if name in _REGISTERED:
        return _REGISTERED[name]
    return _build(name, config.gguf_path, config.max_answer_tokens, config.temperature, config.threads)


@lru_cache(maxsize=8)
def _build(name: str, gguf_path: str | None, max_tokens: int, temperature: float, threads: int | None) -> BaseChatModel:
    if name == "heuristic":
        from vetted_rag.providers.scripted import heuristic_model

        return heuristic_model()
    if name == "embedded":
        return LocalGGUFChatModel(model_path=gguf_path or str(packaged_gguf()), max_tokens=max_tokens,
                                  temperature=temperature, threads=threads)
    provider, sep, model = name.partition(":")
    if not sep or not model:
        raise ProviderError(f"chat model {name!r} must be 'embedded', 'heuristic' or 'provider:model'")
    if provider == "cohere":
        from langchain_cohere import ChatCohere

        key = os.environ.get("COHERE_API_KEY") or os.environ.get("CO_API_KEY")
        if not key:
            raise ProviderError(f"chat model {name!r} needs a Cohere API key: set COHERE_API_KEY")
        # An explicit model= keeps the constructor offline; retries are the graph's job.
        return ChatCohere(model=model, cohere_api_key=key, temperature=temperature, max_tokens=max_tokens,
                          max_retries=0)
    from langchain.chat_models import init_chat_model

    return init_chat_model(name, temperature=temperature, max_tokens=max_tokens, max_retries=0)


def model_label(model: BaseChatModel, name: str) -> str:
    return str(getattr(model, "model_name", None) or getattr(model, "model", None) or name)


def structured_method(model: BaseChatModel) -> dict[str, Any]:
    # json_schema mode is documented for command-a-03-2025 onwards; command-r needs tools.
    if model.__class__.__name__ == "ChatCohere" and "command-r" in str(getattr(model, "model", "")):
        return {"method": "function_calling"}
    return {}


@dataclass
class ModelReply:
    """What a node gets back from one logical model call (after malformed-output retries)."""

    text: str
    parsed: BaseModel | None
    usage: Usage
    error: str | None = None
    truncated: bool = False  # generation stopped at the token limit, mid-answer


# How providers say "stopped at the token limit" (llama.cpp/OpenAI, Cohere, Anthropic).
_LENGTH_STOPS = {"length", "max_tokens", "MAX_TOKENS"}


def _truncated(message: Any, max_tokens: int | None) -> bool:
    meta = getattr(message, "response_metadata", None) or {}
    if str(meta.get("finish_reason") or meta.get("stop_reason") or "") in _LENGTH_STOPS:
        return True
    out = (getattr(message, "usage_metadata", None) or {}).get("output_tokens", 0)
    return bool(max_tokens) and out >= max_tokens


def _classify(exc: BaseException) -> BaseException:
    """Map provider exceptions onto transient (retried by the graph) or permanent."""
    if isinstance(exc, (TransientProviderError, ProviderError, LocalModelError)):
        return exc
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, (TimeoutError, ConnectionError, httpx.TimeoutException, httpx.NetworkError)) or (
        isinstance(status, int) and (status == 429 or status >= 500)
    ):
        return TransientProviderError(f"{type(exc).__name__}: {exc}")
    return ProviderError(f"{type(exc).__name__}: {exc}")


async def call_model(
    name: str,
    config: Configuration,
    messages: list[BaseMessage],
    schema: type[BaseModel] | None = None,
    max_tokens: int | None = None,
    stop: list[str] | None = None,
) -> ModelReply:
    """One model call with token/cost accounting. Provider failures are raised classified
    (the node's RetryPolicy retries transient ones); malformed structured output is asked
    for again, then returned with `parsed=None` so the caller can count it as a failed grade."""
    try:
        model = await asyncio.to_thread(load_chat_model, name, config)  # may locate or load a model file
    except ProviderError:
        raise
    except (ImportError, ValueError, LocalModelError, PackagedModelMissing) as exc:
        raise ProviderError(f"chat model {name!r} is not available: {exc}") from exc
    label = model_label(model, name)
    total: Usage = {}
    extra = {k: v for k, v in {"max_tokens": max_tokens, "stop": stop}.items() if v}
    attempts = STRUCTURED_ATTEMPTS if schema else 1
    error = None
    for _ in range(attempts):
        try:
            if schema is None:
                message = await model.bind(**extra).ainvoke(messages) if extra else await model.ainvoke(messages)
                usage = usage_of(message, label, config)
                return ModelReply(str(message.content), None, add_usage(total, usage),
                                  truncated=_truncated(message, max_tokens))
            runnable = model.with_structured_output(schema, include_raw=True, **structured_method(model))
            out = await runnable.ainvoke(messages)
        except Exception as exc:  # noqa: BLE001 - re-raised classified
            raise _classify(exc) from exc
        total = add_usage(total, usage_of(out["raw"], label, config))
        if out["parsed"] is not None:
            return ModelReply(str(out["raw"].content), out["parsed"], total)
        error = str(out["parsing_error"])
    return ModelReply("", None, total, error=f"malformed output after {attempts} tries: {error}")
