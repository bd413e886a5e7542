"""The embedded model's memory and speed with its weights used in place (the default) or repacked by
llama.cpp into a second, CPU-specific copy. Each variant runs in its own process (so RSS is its own),
interleaved over rounds; each asks one passage question twice. Writes bench/results/model_memory.json.
Usage: python bench/model_memory.py [ROUNDS] [THREADS]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
PASSAGE = (HERE.parent / "vetted_rag/sample_kb/run-budgets.md").read_text()[:2400]

CHILD = """
import json, os, sys, time
from vetted_rag.providers.local_gguf import start_server
from vetted_rag.providers.packaged import packaged_gguf
repack, threads, passage = sys.argv[1] == "repacked", int(sys.argv[2]), sys.argv[3]
started = time.perf_counter()
server = start_server(str(packaged_gguf()), 4096, threads, repack_weights=repack)
loaded = time.perf_counter() - started
request = {"messages": [{"role": "system", "content": "Answer from the context."},
                        {"role": "user", "content": f"Context:\\n{passage}\\n\\nQuestion: What is the default wall-clock limit?"}],
           "max_tokens": 40, "temperature": 0, "seed": 42, "cache_prompt": False, "stream": True, "stream_options": {"include_usage": True}}
parts, asks = [], []


def on_chunk(chunk):
    data = json.loads(chunk) if isinstance(chunk, (str, bytes)) else chunk
    parts.extend((choice.get("delta") or {}).get("content") or "" for choice in data.get("choices", []))
    return False  # go on generating


for _ in range(2):
    parts.clear()
    started = time.perf_counter()
    server.handle_chat_completions(request, on_chunk)
    asks.append(time.perf_counter() - started)
rss = int(open(f"/proc/{os.getpid()}/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9
print(json.dumps({"load_s": loaded, "ask_s": asks, "rss_gb": rss, "answer": "".join(parts)}))
"""


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    runs: dict[str, list[dict]] = {"in place": [], "repacked": []}
    for _ in range(rounds):
        for variant in runs:
            out = subprocess.run([sys.executable, "-c", CHILD, variant, str(threads), PASSAGE],
                                 capture_output=True, text=True, check=True).stdout
            runs[variant].append(json.loads(out.strip().splitlines()[-1]))
            print(variant, runs[variant][-1], flush=True)
    report = {"threads": threads, "rounds": rounds, "variants": {
        name: {"rss_gb": round(max(r["rss_gb"] for r in rs), 2),
               "load_s": round(statistics.median(r["load_s"] for r in rs), 2),
               "ask_s": round(statistics.median(a for r in rs for a in r["ask_s"]), 2),
               "answer": rs[-1]["answer"]} for name, rs in runs.items()}}
    v = report["variants"]
    report["ratios"] = {"rss": round(v["repacked"]["rss_gb"] / v["in place"]["rss_gb"], 2),
                        "ask_time": round(v["repacked"]["ask_s"] / v["in place"]["ask_s"], 2)}
    print(json.dumps(report, indent=2))
    (HERE / "results/model_memory.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
