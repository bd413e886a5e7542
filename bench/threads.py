"""llama.cpp threads for the embedded model on this machine: one real generation (a sample-docs
question with its retrieved passages) with 1 and 2 threads, on a quiet box, next to a busy
Python process, and next to another llama.cpp job doing the same. Each measurement runs in
its own process. Writes bench/results/threads.json. Usage: python bench/threads.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
ONE_GENERATION = """
import sys, time
from vetted_rag import Configuration
from vetted_rag.knowledge.store import open_knowledge_base
from vetted_rag.prompts import GENERATE_STOP, generate_messages
from vetted_rag.providers.local_gguf import LocalGGUFChatModel
from vetted_rag.providers.packaged import packaged_gguf
kb = open_knowledge_base(Configuration(data_dir=sys.argv[2]))
kb.ensure_sample()
question = "How do I set a cost budget?"
messages = generate_messages(question, kb.search(question, 4, 0.2), None)
model = LocalGGUFChatModel(model_path=str(packaged_gguf()), threads=int(sys.argv[1]), max_tokens=60)
model.invoke("hi", max_tokens=1)  # load
started = time.perf_counter()
reply = model.bind(stop=GENERATE_STOP).invoke(messages)
print(time.perf_counter() - started, reply.usage_metadata["input_tokens"], reply.usage_metadata["output_tokens"])
"""


def generation(threads: int, data: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", ONE_GENERATION, str(threads), data], stdout=subprocess.PIPE, text=True)


def seconds(proc: subprocess.Popen) -> float:
    return round(float(proc.communicate(timeout=600)[0].split()[0]), 2)


def main() -> None:
    data = tempfile.mkdtemp(prefix="vr-threads-")
    seconds(generation(1, data))  # ingest the sample once, warm the page cache
    rows = []
    for threads in (1, 2):
        quiet = seconds(generation(threads, data))
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
        busy = seconds(generation(threads, data))
        hog.kill()
        pair = [generation(threads, data), generation(threads, data)]
        twin = max(seconds(p) for p in pair)
        rows.append({"threads": threads, "quiet_s": quiet, "next_to_busy_python_s": busy,
                     "next_to_another_llama_job_s": twin})
        print(rows[-1], flush=True)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results/threads.json").write_text(json.dumps({"rows": rows}, indent=2))


if __name__ == "__main__":
    main()
