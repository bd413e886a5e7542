"""The OpenAI-compatible path for real: `vetted-rag model-server` (llama.cpp's HTTP server on the
packaged Qwen2.5-Coder-1.5B) on loopback, used as `openai:<model>` with `model_base_url`.

Measures, over HTTP, whether an LLM grader of this size adds anything to the deterministic
checks: the grader benchmark with the LLM grader (held-out HaluEval rows), and the graded
loop on the HaluEval eval under `combined` vs `deterministic` grading.
Usage: python bench/openai_server.py SPLITS_DIR   (bench/halueval_splits.py writes SPLITS_DIR)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import services  # noqa: E402  (the engine starters the tests use)

BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
MODEL = "openai:qwen2.5-coder-1.5b"


def main(splits: Path) -> None:
    held_out = splits / "halueval-rows6000-8999.jsonl"
    with services.model_server() as base_url:
        env = {**os.environ, "VETTED_RAG_MODEL_BASE_URL": base_url, "VETTED_RAG_CHAT_MODEL": MODEL}
        runs = [
            ({}, ["--graders", "30", "--llm-grader", "--seed", "3", "--json", str(RESULTS / "graders_openai.json")]),
            ({"VETTED_RAG_GRADING": "combined"},
             ["--n", "20", "--unanswerable", "5", "--systems", "graded", "--json", str(RESULTS / "eval_openai_combined.json")]),
            ({"VETTED_RAG_GRADING": "deterministic"},
             ["--n", "20", "--unanswerable", "5", "--systems", "graded",
              "--json", str(RESULTS / "eval_openai_deterministic.json")]),
        ]
        for extra, args in runs:
            subprocess.run([str(BIN / "vetted-rag"), "eval", "--dataset", str(held_out), "--quiet", *args],
                           env=env | extra, check=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
