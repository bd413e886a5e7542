"""Parallel model slots: llama.cpp's `n_parallel` (continuous batching) against today's one slot,
for 1, 2 and 4 concurrent generations of the agent's real prompt on the packaged model.

For each concurrency c: one server with a single slot (requests queue, as behind a lock) and one
with c slots; all c requests sent at once over the server's loopback HTTP API. Reported:
aggregate generated tokens per second and per-request latency. `model_slots` (admission) and the
server's `n_parallel` default are chosen from this.
Usage: python bench/parallel_slots.py [THREADS]   -> bench/results/parallel_slots.json
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.services import free_port  # noqa: E402
from vetted_rag.knowledge.store import read_document  # noqa: E402
from vetted_rag.prompts import generate_messages  # noqa: E402
from vetted_rag.providers.local_gguf import start_server  # noqa: E402
from vetted_rag.providers.packaged import packaged_gguf  # noqa: E402

QUESTIONS = ["How do I set a cost budget?", "How do I clear the cache?", "How do I run the HTTP server?",
             "How long are cache entries kept?"]


def prompt(question: str) -> list[dict]:
    doc = read_document(ROOT / "vetted_rag/sample_kb/run-budgets.md")
    passages = [{"id": "1", "source": "run-budgets.md", "title": doc.title, "chunk": 0, "score": 0.5,
                 "text": doc.text[:1500]}]
    return [{"role": "system" if m.type == "system" else "user", "content": m.content}
            for m in generate_messages(question, passages, None)]


def one(url: str, question: str) -> tuple[float, int]:
    started = time.perf_counter()
    reply = httpx.post(url + "/v1/chat/completions", timeout=600, json={
        "model": "m", "messages": prompt(question), "max_tokens": 120, "temperature": 0, "cache_prompt": False})
    reply.raise_for_status()
    return time.perf_counter() - started, reply.json()["usage"]["completion_tokens"]


def measure(slots: int, concurrency: int, threads: int) -> dict:
    port = free_port()
    server = start_server(str(packaged_gguf()), 4096, threads, port=port, parallel=slots)
    url = f"http://127.0.0.1:{port}"
    one(url, QUESTIONS[0])  # warm-up
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda q: one(url, q), QUESTIONS[:concurrency]))
    wall = time.perf_counter() - started
    del server
    tokens = sum(n for _, n in results)
    return {"slots": slots, "concurrency": concurrency, "wall_s": round(wall, 2),
            "aggregate_tokens_per_s": round(tokens / wall, 1),
            "latency_mean_s": round(statistics.mean(s for s, _ in results), 2),
            "latency_max_s": round(max(s for s, _ in results), 2)}


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    rows = []
    for concurrency in (1, 2, 4):
        for slots in sorted({1, concurrency}):
            rows.append(measure(slots, concurrency, threads))
            print(rows[-1], flush=True)
    out = {"threads": threads, "rows": rows}
    (ROOT / "bench" / "results" / "parallel_slots.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
