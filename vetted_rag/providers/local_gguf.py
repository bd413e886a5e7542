"""The embedded chat model: a GGUF instruct model run in-process on the CPU by llama.cpp (xllamacpp).

The default file is Qwen2.5-Coder-1.5B-Instruct, reassembled from PyPI wheels and
hash-checked (`providers/packaged.py`). Point `gguf_path` at any other instruct GGUF.

xllamacpp opens a listener on 127.0.0.1 only; requests are passed in-process.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
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

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


class LocalModelError(RuntimeError):
    """The embedded model could not be loaded or failed to answer."""


class GenerationCancelled(RuntimeError):
    """Generation was stopped because the caller gave up (timeout or wall-clock limit)."""


def idle_cores(sample_s: float = 0.2) -> float:
    """Cores idle right now, from two readings of /proc/stat (Linux); all cores elsewhere."""
    def reading() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)  # idle + iowait, total

    cores = os.cpu_count() or 1
    try:
        idle0, total0 = reading()
        time.sleep(sample_s)
        idle1, total1 = reading()
    except (OSError, ValueError, IndexError):
        return float(cores)
    return cores * (idle1 - idle0) / max(1, total1 - total0)


def auto_threads() -> int:
    """llama.cpp threads for this moment: one per idle core, at least one.

    Measured on 2 cores (bench/RESULTS.md, Qwen2.5-Coder-1.5B): on a quiet box 2 threads
    answer in half the time of 1; next to another llama.cpp job, 2 threads each collapse
    (17 s vs 12 s per answer) because llama.cpp's threads spin-wait for each other.
    """
    return max(1, min(os.cpu_count() or 1, round(idle_cores())))


@lru_cache(maxsize=4)
def _auto_threads_once(model_path: str) -> int:
    # Decided once per model and process: the server's thread count is fixed when it starts.
    return auto_threads()


def start_server(path: str, n_ctx: int, threads: int, port: int | None = None, parallel: int = 1,
                 repack_weights: bool = False) -> Any:
    """A llama.cpp server (xllamacpp) on the GGUF file: its HTTP listener is on 127.0.0.1 only
    (`port` chooses it; unset, an ephemeral one), and requests can also be passed in-process.
    `repack_weights` lets llama.cpp copy the weights into its CPU-specific layout (bench/model_memory.py)."""
    import xllamacpp

    if not Path(path).is_file():
        raise LocalModelError(f"GGUF file not found: {path}")
    params = xllamacpp.CommonParams()
    params.model.path = path
    params.n_ctx = n_ctx * parallel  # llama.cpp splits the context between its slots
    params.n_parallel = parallel
    params.n_batch = 512  # llama.cpp's small-batch default was measured 1.6x slower
    # By default the weights are used where the file is mapped, not repacked into a second, anonymous
    # copy: on this 2-core box the copy cost 0.62 GB of RSS and was slower (bench/model_memory.py).
    params.no_extra_bufts = not repack_weights
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = -1
    params.warmup = False
    if port is not None:
        params.port = port
    return xllamacpp.Server(params)


@lru_cache(maxsize=2)
def _server(path: str, n_ctx: int, threads: int) -> Any:
    return start_server(path, n_ctx, threads)


class LocalGGUFChatModel(BaseChatModel):
    """LangChain chat model over an in-process llama.cpp server.

    Calls are serialised (one slot); `with_structured_output` constrains output with a
    GBNF grammar and validates it with Pydantic. The prompt cache is off (graders), except for a
    call that asks for it (`cache_prompt=True`): a generation, whose system prompt (and, for a
    regeneration, passages) the previous one shares, and the re-read, whose prompt extends the
    generation's. Measured on the 15 newcomer questions: the same answers word for word, median
    7.7 -> 5.5 s (bench/RESULTS.md).
    """

    model_path: str
    max_tokens: int = 200
    temperature: float = 0.0
    seed: int = 42
    n_ctx: int = 4096
    threads: int | None = None  # None: auto_threads() when the model is loaded

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
            "cache_prompt": kwargs.get("cache_prompt", False),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if kwargs.get("grammar"):
            request["grammar"] = kwargs["grammar"]
        if stop:
            request["stop"] = stop
        return request

    def _stream_raw(self, request: dict[str, Any], cancel: threading.Event) -> tuple[str, dict[str, int]]:
        server = _server(self.model_path, self.n_ctx, self.threads or _auto_threads_once(self.model_path))
        parts: list[str] = []
        usage: dict[str, Any] = {}
        errors: list[str] = []

        def on_chunk(chunk: Any) -> bool:
            data = json.loads(chunk) if isinstance(chunk, (str, bytes)) else chunk
            if isinstance(data, dict) and data.get("error"):
                errors.append(str(data["error"]))
            for choice in (data or {}).get("choices", []) if isinstance(data, dict) else []:
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    parts.append(piece)
                if choice.get("finish_reason"):
                    usage["finish_reason"] = choice["finish_reason"]
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
            response_metadata={"model_name": self.model_name, "finish_reason": usage.get("finish_reason", "stop")},
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
        return structured_runnable(self.bind(grammar=compact_grammar(schema), **kwargs), schema, include_raw)
