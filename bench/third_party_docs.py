"""A new user's first hour on documents nobody here wrote: the READMEs of installed packages.

Ingests the long descriptions (README) of a few packages from this environment into a fresh
knowledge base and asks natural questions, some of which the READMEs do not answer. Reports,
per question, the status, answer and whether an `answered` result contains the expected
phrase; the figure that matters is `answered_but_wrong` (answered results that do not answer).
Usage: python bench/third_party_docs.py QUESTIONS.json [--out FILE] [--docs FOLDER]
With --docs, the knowledge base is that folder (HTML, Markdown or text files) instead of READMEs.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import tempfile
import time
from pathlib import Path

from sample_questions import quoted

from vetted_rag import Agent, Configuration
from vetted_rag.knowledge.store import open_knowledge_base


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("questions")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results/third_party_docs.json"))
    parser.add_argument("--docs", help="a folder of documents to ask instead of the packages' READMEs")
    args = parser.parse_args()
    items = json.loads(Path(args.questions).read_text())
    root = Path(tempfile.mkdtemp(prefix="vetted-rag-docs-"))
    docs = Path(args.docs) if args.docs else root / "docs"
    if not args.docs:
        docs.mkdir()
        for name in sorted({i["doc"] for i in items} - {"none"}):
            (docs / f"{name}.md").write_text(importlib.metadata.metadata(name).get_payload())
    config = Configuration.from_env(data_dir=str(root / "data"), cache_enabled=False, seed_sample=False)
    report = open_knowledge_base(config).ingest_paths([docs])
    agent = Agent(config)
    rows = []
    for item in items:
        started = time.perf_counter()
        result = agent.ask(item["question"])
        expect = item.get("expect")
        correct = result.status == "answered" and bool(expect) and expect.lower() in (result.answer or "").lower()
        rows.append({**item, "status": result.status, "answer": result.answer, "correct": correct,
                     "seconds": round(time.perf_counter() - started, 1), "stop_reason": result.stop_reason,
                     "quoted": quoted(result)})
        print(f"{rows[-1]['seconds']:6.1f}s {result.status:<10} {'correct' if correct else '':<8} {item['question']}\n"
              f"         {result.answer or result.stop_reason}", flush=True)
    summary = {"chat_model": config.chat_model, "documents": report.files, "chunks": report.added,
               "questions": len(rows), "answered": sum(r["status"] == "answered" for r in rows),
               "answered_and_correct": sum(r["correct"] for r in rows),
               "answered_but_wrong": sum(r["status"] == "answered" and not r["correct"] for r in rows), "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}, indent=2))


if __name__ == "__main__":
    main()
