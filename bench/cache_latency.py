"""Latency of a full graded run vs a cache hit (exact and semantic) on the embedded default, in one
run. Hit and false-hit rates: bench/cache_equivalence.py.

Usage: python bench/cache_latency.py   (writes bench/results/cache_latency.json)
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from vetted_rag import Agent, Configuration

QUESTION = "How do I set a cost budget?"
PARAPHRASE = "How can I set a cost budget?"
REPEATS = 5


def timed(agent: Agent, question: str, **options) -> tuple[float, dict]:
    started = time.perf_counter()
    result = agent.ask(question, **options)
    return time.perf_counter() - started, result.cache


def main() -> None:
    data = tempfile.mkdtemp(prefix="vr-bench-")
    agent = Agent(Configuration(chat_model="embedded", data_dir=data))
    full = [timed(agent, QUESTION, no_cache=True)[0] for _ in range(REPEATS)]
    first = agent.ask(QUESTION)
    if first.status != "answered":
        sys.exit(f"the embedded model did not produce a verified answer ({first.stop_reason}); nothing to cache")
    exact = [timed(agent, QUESTION)[0] for _ in range(REPEATS)]
    semantic = [timed(agent, PARAPHRASE) for _ in range(REPEATS)]
    assert all(c.get("kind") == "semantic" for _, c in semantic), f"paraphrase did not hit: {semantic[0][1]}"
    m = {name: statistics.median(values) for name, values in
         {"full": full, "exact": exact, "semantic_verified": [t for t, _ in semantic]}.items()}
    report = {
        "median_seconds": {k: round(v, 4) for k, v in m.items()},
        "speedup": {k: round(m["full"] / m[k], 1) for k in ("exact", "semantic_verified")},
        "repeats": REPEATS,
    }
    print(json.dumps(report, indent=2))
    out = Path(__file__).parent / "results/cache_latency.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
