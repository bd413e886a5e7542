"""`vetted-rag model-server`: the packaged GGUF (or any GGUF) behind llama.cpp's own
OpenAI-compatible HTTP server, on loopback.

Point vetted-rag — or anything else — at it as an OpenAI-compatible endpoint:

    VETTED_RAG_CHAT_MODEL=openai:qwen2.5-coder-1.5b VETTED_RAG_MODEL_BASE_URL=http://127.0.0.1:8081/v1

The same two settings reach Ollama (`http://127.0.0.1:11434/v1`), vLLM or any other
OpenAI-compatible server.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from vetted_rag.providers.local_gguf import auto_threads, start_server
from vetted_rag.providers.packaged import packaged_gguf


def serve_model(port: int, gguf_path: str | None = None, threads: int | None = None, n_ctx: int = 4096,
                parallel: int = 1) -> None:
    """Serve until SIGINT or SIGTERM."""
    path = str(Path(gguf_path) if gguf_path else packaged_gguf())
    server = start_server(path, n_ctx, threads or auto_threads(), port=port, parallel=parallel)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"llama.cpp OpenAI-compatible server for {Path(path).name} at {server.listening_address}/v1", flush=True)
    stop.wait()
    del server
