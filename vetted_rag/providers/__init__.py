"""Chat models by name, and the one way nodes call a model (structured or not) with accounting.

Names: `embedded` (packaged GGUF, in-process), `cohere:<model>` (langchain-cohere), any
LangChain `provider:model` (`init_chat_model`), `heuristic` (deterministic model-free
baseline for CI), or a name registered with
`register_chat_model` (tests register scripted models this way, so the graph and Studio
see only a string).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from pydantic import BaseModel
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from vetted_rag.admission import CURRENT_TICKET
from vetted_rag.graph.configuration import Configuration, RunPolicy
from vetted_rag.graph.state import Usage, add_usage
from vetted_rag.observability import limit_event
from vetted_rag.providers.local_gguf import LocalGGUFChatModel, LocalModelError
from vetted_rag.providers.packaged import PackagedModelMissing, packaged_gguf
from vetted_rag.providers.pricing import price_of, usage_of
from vetted_rag.providers.structured import MalformedOutput

_REGISTERED: dict[str, BaseChatModel] = {}

# A malformed structured reply is asked for again this many times, then counts as "no".
STRUCTURED_ATTEMPTS = 2


class ProviderError(RuntimeError):
    """A model provider failed in a way retrying will not fix (bad key, bad request, missing model)."""


class TransientProviderError(RuntimeError):
    """A provider failure worth retrying: timeout, rate limit, server error, connection loss."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds the provider asked for (429 Retry-After)


class BudgetExceeded(RuntimeError):
    """The run's budget (tokens, cost, wall clock) cannot cover a model call, or a call crossed it.
    `usage` is what the crossing call consumed, so the run's totals stay counted."""

    def __init__(self, reason: str, limit: str, usage: Usage | None = None) -> None:
        super().__init__(reason)
        self.reason, self.limit, self.usage = reason, limit, usage or {}


def register_chat_model(name: str, model: BaseChatModel) -> None:
    """Make `model` available as `Configuration(chat_model=name)` in this process."""
    _REGISTERED[name] = model


def load_chat_model(name: str, config: Configuration) -> BaseChatModel:
    if name in _REGISTERED:
        return _REGISTERED[name]
    return _build(name, config.gguf_path, config.max_answer_tokens, config.temperature, config.threads,
                  config.model_base_url)


@lru_cache(maxsize=8)
def _build(name: str, gguf_path: str | None, max_tokens: int, temperature: float, threads: int | None,
           base_url: str | None) -> BaseChatModel:
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
        from vetted_rag.providers.cohere import cohere_chat_model

        key = os.environ.get("COHERE_API_KEY") or os.environ.get("CO_API_KEY")
        if not key:
            raise ProviderError(f"chat model {name!r} needs a Cohere API key: set COHERE_API_KEY")
        return cohere_chat_model(model, key, temperature, max_tokens, base_url)
    from langchain.chat_models import init_chat_model

    options: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens, "max_retries": 0}
    if base_url:
        options["base_url"] = base_url
        if provider == "openai" and not os.environ.get("OPENAI_API_KEY"):
            options["api_key"] = "unused"  # local OpenAI-compatible servers (llama.cpp, Ollama, vLLM) take no key
    return init_chat_model(name, **options)


def model_label(model: BaseChatModel, name: str) -> str:
    return str(getattr(model, "model_name", None) or getattr(model, "model", None) or name)


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


def _retry_after(exc: BaseException) -> float:
    """Seconds a rate-limited provider asked us to wait (`Retry-After`), 0 when it did not say."""
    headers = getattr(exc, "headers", None) or getattr(getattr(exc, "response", None), "headers", None) or {}
    try:
        return max(0.0, float(headers.get("retry-after") or headers.get("Retry-After") or 0))
    except (TypeError, ValueError, AttributeError):
        return 0.0


def _classify(exc: BaseException) -> BaseException:
    """Map provider exceptions onto transient (retried) or permanent."""
    if isinstance(exc, (TransientProviderError, ProviderError, LocalModelError, BudgetExceeded)):
        return exc
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if _network_failure(exc) or (isinstance(status, int) and (status == 429 or status >= 500)):
        return TransientProviderError(_describe(exc, status), retry_after=_retry_after(exc))
    return ProviderError(_describe(exc, status))


def _network_failure(exc: BaseException | None) -> bool:
    """A timeout or lost connection, also when an SDK wraps it (the OpenAI SDK's APIConnectionError,
    which covers its timeouts, wraps its own httpx fork's errors)."""
    openai = sys.modules.get("openai")
    if openai is not None and isinstance(exc, openai.APIConnectionError):
        return True
    for _ in range(8):
        if exc is None:
            return False
        if isinstance(exc, (TimeoutError, ConnectionError, httpx.TimeoutException, httpx.NetworkError)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _describe(exc: BaseException, status: Any) -> str:
    """One line: the exception's name, the HTTP status and the provider's own message when it sent one
    (the Cohere SDK's str() is a dump of headers and body)."""
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(status, int) and message:
        return f"{type(exc).__name__} (HTTP {status}): {message}"
    return f"{type(exc).__name__}: {exc}"


def _undecodable(exc: BaseException) -> bool:
    """Provider SDKs that decode the reply themselves (langchain-cohere's tool-call arguments, the
    OpenAI SDK's structured parse) raise these on a malformed or cut-off reply: the model's output
    is bad, the provider is fine."""
    openai = sys.modules.get("openai")  # only loaded when an OpenAI-compatible model is in use
    return isinstance(exc, json.JSONDecodeError) or bool(openai and isinstance(exc, openai.LengthFinishReasonError))


def estimate_tokens(messages: list[BaseMessage]) -> int:
    """A prompt-token estimate for the pre-call budget check. BPE tokenizers average about 4
    characters per English token; dividing by 5 errs low on purpose, so a call that could fit
    is not refused — the usage the provider reports is checked after the call."""
    return sum(len(str(m.content)) for m in messages) // 5


def _out_of_time(policy: RunPolicy) -> BudgetExceeded:
    return BudgetExceeded(f"wall-clock limit of {policy.max_execution_time_s:g}s reached", "time")


def _check_before(policy: RunPolicy, spent: Usage, prompt_tokens: int, price_in: float,
                  deadline: float | None) -> None:
    if deadline is not None and time.time() >= deadline:
        raise _out_of_time(policy)
    used = spent.get("total_tokens", 0)
    if policy.max_total_tokens is not None and used + prompt_tokens > policy.max_total_tokens:
        raise BudgetExceeded(f"token budget: the next model call needs about {prompt_tokens} tokens, "
                             f"{max(0, policy.max_total_tokens - used)} of {policy.max_total_tokens} remain", "tokens")
    cost = spent.get("cost_usd", 0.0)
    if policy.max_cost_usd is not None and cost + prompt_tokens * price_in / 1_000_000 > policy.max_cost_usd:
        raise BudgetExceeded(f"cost budget: the next model call costs about ${prompt_tokens * price_in / 1e6:.6f}, "
                             f"${max(0.0, policy.max_cost_usd - cost):.6f} of ${policy.max_cost_usd:g} remain", "cost")


def _check_after(policy: RunPolicy, spent: Usage, usage: Usage) -> None:
    total = add_usage(spent, usage)
    if policy.max_total_tokens is not None and total.get("total_tokens", 0) > policy.max_total_tokens:
        raise BudgetExceeded(f"token budget spent: {total['total_tokens']} of {policy.max_total_tokens} tokens",
                             "tokens", usage)
    if policy.max_cost_usd is not None and total.get("cost_usd", 0.0) > policy.max_cost_usd:
        raise BudgetExceeded(f"cost budget spent: ${total['cost_usd']:.6f} of ${policy.max_cost_usd:g}", "cost", usage)


def _wait(policy: RunPolicy, deadline: float | None) -> Callable[[RetryCallState], float]:
    """Exponential backoff with jitter, at least what a 429's Retry-After asks, never past the deadline."""
    backoff = wait_exponential_jitter(initial=policy.retry_initial_interval_s, max=30.0)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        seconds = max(backoff(state), getattr(exc, "retry_after", 0.0))
        return seconds if deadline is None else max(0.0, min(seconds, deadline - time.time()))

    return wait


async def call_model(
    name: str,
    config: Configuration,
    messages: list[BaseMessage],
    schema: type[BaseModel] | None = None,
    max_tokens: int | None = None,
    stop: list[str] | None = None,
    run: Mapping[str, Any] | None = None,
    reuse_prefix: bool = False,
) -> ModelReply:
    """One logical model call under the run's policy — the only place a model is called.

    Before it: the wall clock and the remaining token/cost budget must cover the prompt
    (`run` is the run's state: its `usage` and `deadline`). During it: each attempt has the
    per-call timeout (`llm_timeout_s`, capped at the run's deadline); transient failures are
    retried `max_retries` times with backoff and jitter, honouring `Retry-After`. After it:
    usage that crossed a budget raises `BudgetExceeded` carrying that usage. Each timeout and
    retry is a trace event and a metric. Malformed structured output is asked for again, then
    returned with `parsed=None` so the caller can count it as a failed grade. `reuse_prefix`: the
    prompt begins like the previous call's, whose evaluation the embedded model may keep (servers and
    hosted providers cache prefixes on their own)."""
    policy, run = config.policy, run or {}
    spent: Usage = run.get("usage") or {}
    deadline = run.get("deadline")
    try:
        model = await asyncio.to_thread(load_chat_model, name, config)  # may locate or load a model file
    except ProviderError:
        raise
    except (ImportError, ValueError, LocalModelError, PackagedModelMissing) as exc:
        raise ProviderError(f"chat model {name!r} is not available: {exc}") from exc
    label = model_label(model, name)
    _check_before(policy, spent, estimate_tokens(messages), price_of(label, config.prices_per_million)[0], deadline)
    ticket = CURRENT_TICKET.get()
    if ticket is not None:  # the run's first model call waits for a model slot (admission.py)
        waited = await ticket.admit()
        if waited:
            limit_event("queued", f"waited {waited:.2f}s for a model slot", waited_s=round(waited, 3))
    extra = {k: v for k, v in {"max_tokens": max_tokens, "stop": stop}.items() if v}
    prefix = {"cache_prompt": True} if reuse_prefix and isinstance(model, LocalGGUFChatModel) else {}
    if schema is None:
        runnable = model.bind(**extra, **prefix) if extra or prefix else model
    else:
        runnable = model.with_structured_output(schema, include_raw=True, **prefix)

    async def attempt() -> Any:
        timeout = policy.llm_timeout_s if deadline is None else min(policy.llm_timeout_s, deadline - time.time())
        if timeout <= 0:
            raise _out_of_time(policy)
        try:
            async with asyncio.timeout(timeout):
                return await runnable.ainvoke(messages)
        except TimeoutError as exc:
            if deadline is not None and time.time() >= deadline - 0.01:
                raise _out_of_time(policy) from exc
            limit_event("timeout", f"model call timed out after {timeout:g}s", model=label)
            raise TransientProviderError(f"model call timed out after {timeout:g}s") from exc
        except Exception as exc:  # noqa: BLE001 - re-raised classified
            if _undecodable(exc):
                raise MalformedOutput(f"undecodable reply: {type(exc).__name__}: {str(exc)[:160]}") from exc
            failure = _classify(exc)
            if not isinstance(failure, BudgetExceeded):
                limit_event("provider_error", str(failure), model=label,
                            transient=isinstance(failure, TransientProviderError))
            raise failure from exc

    def before_sleep(state: RetryCallState) -> None:
        limit_event("retry", f"attempt {state.attempt_number} failed, retrying in {state.next_action.sleep:.2f}s: "
                    f"{state.outcome.exception()}", model=label, attempt=state.attempt_number)

    retrying = AsyncRetrying(stop=stop_after_attempt(policy.max_retries + 1), wait=_wait(policy, deadline),
                             retry=retry_if_exception_type(TransientProviderError), before_sleep=before_sleep,
                             reraise=True)
    total: Usage = {}
    error = None
    for _ in range(STRUCTURED_ATTEMPTS if schema else 1):
        try:
            out = await retrying(attempt)
        except MalformedOutput as exc:
            if schema is None:
                raise ProviderError(str(exc)) from exc
            error = str(exc)
            continue
        raw = out if schema is None else out["raw"]
        usage = usage_of(raw, label, config.prices_per_million)
        total = add_usage(total, usage)
        _check_after(policy, spent, total)
        if schema is None:
            return ModelReply(str(raw.content), None, total, truncated=_truncated(raw, max_tokens))
        if out["parsed"] is not None:
            return ModelReply(str(raw.content), out["parsed"], total)
        error = str(out["parsing_error"])
    return ModelReply("", None, total, error=f"malformed output after {STRUCTURED_ATTEMPTS} tries: {error}")
