"""Per-node time of one real question on the embedded default (SmolLM2-135M GGUF + MiniLM), cold
and warm. Usage: python bench/node_timing.py ["question"]  (writes bench/results/node_timing.json)"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from vetted_rag import Agent, Configuration


def main() -> None:
    question = sys.argv[1] if len(sys.argv) > 1 else "How do I set a cost budget?"
    started = time.perf_counter()
    agent = Agent(Configuration(chat_model="embedded", data_dir=tempfile.mkdtemp(prefix="vr-timing-"),
                                cache_enabled=False))
    runs = []
    for label in ("cold (ingests the sample, loads the models)", "warm"):
        t = time.perf_counter()
        result = agent.ask(question)
        runs.append({"run": label, "seconds": round(time.perf_counter() - t, 3), "status": result.status,
                     "attempts": result.iterations, "tokens": result.usage.get("total_tokens", 0),
                     "nodes": [(e["node"], e["decision"], round(e["duration_ms"])) for e in result.trace]})
    for run in runs:
        print(f"{run['run']}: {run['seconds']} s, {run['status']} after {run['attempts']} attempt(s), "
              f"{run['tokens']} tokens")
        for node, decision, ms in run["nodes"]:
            print(f"   {node:<20} {ms:>7} ms  {decision}")
    out = Path(__file__).parent / "results/node_timing.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"question": question, "total_seconds": round(time.perf_counter() - started, 3),
                               "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
