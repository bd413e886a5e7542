"""The newcomer's questions about the shipped docs, asked through the agent on the embedded default.

Writes bench/results/sample_questions.json: per question the status, answer, whether it is
answered AND contains the expected phrase, attempts and wall time. Usage:
    python bench/sample_questions.py [--data-dir DIR] [--questions FILE --out OUT]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from vetted_rag import Agent, Configuration

QUESTIONS = Path(__file__).parents[1] / "vetted_rag/sample_kb/questions.json"


def quoted(result) -> bool:
    """Whether the run graded the passage sentence an ungrounded, repeated answer came from (nodes/generate.py)."""
    return any(e["node"] == "generate" and e["decision"] == "quoted" for e in result.trace)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=tempfile.mkdtemp(prefix="vetted-rag-bench-"))
    parser.add_argument("--out", default=str(Path(__file__).parent / "results/sample_questions.json"))
    parser.add_argument("--questions", default=str(QUESTIONS))
    args = parser.parse_args()
    questions = json.loads(Path(args.questions).read_text())
    agent = Agent(Configuration.from_env(data_dir=args.data_dir, cache_enabled=False))
    agent.ask("warm-up: what is vetted-rag?")  # model load and first ingest are not a question's latency
    rows = []
    for item in questions["answerable"] + questions["unanswerable"]:
        started = time.perf_counter()
        result = agent.ask(item["question"])
        seconds = time.perf_counter() - started
        expect = item.get("expect")
        correct = bool(expect) and result.status == "answered" and expect.lower() in (result.answer or "").lower()
        rows.append({"question": item["question"], "split": item.get("split"), "answerable": bool(expect),
                     "status": result.status,
                     "answer": result.answer, "correct": correct, "attempts": result.iterations,
                     "seconds": round(seconds, 2), "stop_reason": result.stop_reason, "quoted": quoted(result)})
        print(f"{seconds:6.1f}s {result.status:<10} {'correct' if correct else '':<8} {item['question']}\n"
              f"        {result.answer or result.stop_reason}", flush=True)
    answerable = [r for r in rows if r["answerable"]]
    answered = [r for r in rows if r["status"] == "answered"]
    summary = {
        "chat_model": agent.config.chat_model,
        "answerable": len(answerable),
        "answered_and_correct": sum(r["correct"] for r in answerable),
        "answered_but_wrong": sum(r["status"] == "answered" and not r["correct"] for r in rows),
        "unanswerable_answered": sum(r["status"] == "answered" for r in rows if not r["answerable"]),
        "seconds_p50_answered": round(statistics.median(r["seconds"] for r in answered), 2) if answered else None,
        "seconds_p50_all": round(statistics.median(r["seconds"] for r in rows), 2),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}, indent=2))


if __name__ == "__main__":
    main()
