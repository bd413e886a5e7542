"""Can the packaged model judge the question pairs the equivalence rule leaves undecided?

`cache_lookup` asks the grader model whether two questions are the same question when the rule
(vetted_rag/equivalence.py) finds no conflict between them but cannot match their words — a broad
rewording — and only under grading 'combined', which the packaged models never get. This measures
why, on the pairs of bench/cache_equivalence.py that reach that point: the written paraphrases and
hard negatives, and "other pairs": a cached question with the asked question of another pair,
cosine >= 0.5 (different questions on the same topic; a few are paraphrases written in two sets).
Prompts: the product's (`prompts.same_question_messages`), a few-shot variant, and one that shows
the stored answer; and, without a model, the full checks: serve when the stored answer passes the
support check and the answer check (with its focus tie) for the new question. Writes
bench/results/cache_judge.json.
Usage: python bench/cache_judge.py [--every K]  (K: judge every K-th other pair; default 4)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
from cache_equivalence import ANSWERS, PAIRS, attach_passages
from langchain_core.messages import HumanMessage, SystemMessage

from vetted_rag import Configuration
from vetted_rag.equivalence import same_question
from vetted_rag.grounding import check_support
from vetted_rag.knowledge.embeddings import load_embeddings
from vetted_rag.nodes import llm_verdict
from vetted_rag.nodes.schemas import SameQuestion
from vetted_rag.prompts import same_question_messages
from vetted_rag.relevance import check_relevance

HERE = Path(__file__).parent
FEW_SHOT = ("You decide whether two questions ask for the same information, worded differently. Examples:\n"
            "'How do I delete a file?' / 'What is the way to remove a file?' -> yes (same request, other words)\n"
            "'How do I delete a file?' / 'How do I delete a folder?' -> no (another thing)\n"
            "'What is the default page size?' / 'How many items fit on one page unless I change it?' -> yes\n"
            "'How do I open a port?' / 'How do I close a port?' -> no (opposite action)\n"
            "'When does the shop open?' / 'Where is the shop?' -> no (another question)\n"
            "Give a one-sentence reason.")
WITH_ANSWER = ("You check a stored answer before it is reused. Reply 'yes' only if the stored answer gives exactly "
               "the information the new question asks for, 'no' if it answers a different question. Give a "
               "one-sentence reason.")


def prompts(asked: str, cached: str, answer: str) -> dict[str, list]:
    return {
        "product": same_question_messages(asked, cached),
        "few_shot": [SystemMessage(FEW_SHOT), HumanMessage(f"Question 1: {asked}\nQuestion 2: {cached}\n\n"
                                                           "Same information, worded differently?")],
        "with_answer": [SystemMessage(WITH_ANSWER), HumanMessage(
            f"Stored answer (written for: {cached})\n{answer}\n\nNew question: {asked}\n\n"
            "Does the stored answer give exactly what the new question asks for?")],
    }


def undecided_pairs(every: int) -> list[dict]:
    """Pairs with an answered stored question that the rule finds neither the same nor in conflict."""
    answers = json.loads(ANSWERS.read_text())
    attach_passages(answers)
    written = [(kind, p[0], p[1]) for split, data in PAIRS.items() if split != "about" for kind in ("paraphrase", "hard_negative")
               for p in data[kind]]
    neighbours: dict[str, set[str]] = {}
    for kind, cached, asked in written:
        if kind == "paraphrase":
            neighbours.setdefault(cached, set()).add(asked)
            neighbours.setdefault(asked, set()).add(cached)

    def paraphrases(question: str) -> set[str]:
        """Every question linked to `question` by written paraphrase pairs."""
        found, todo = {question}, [question]
        while todo:
            for other in neighbours.get(todo.pop(), ()):
                if other not in found:
                    found.add(other)
                    todo.append(other)
        return found

    cached_questions = sorted({c for _, c, _ in written})
    asked_questions = sorted({a for _, _, a in written} | set(cached_questions))
    model = load_embeddings(Configuration().cache_embedding_model)
    vectors = dict(zip(asked_questions, np.array(model.embed_documents(asked_questions))))
    others = [("other pair", c, a) for c in cached_questions for a in asked_questions
              if a not in paraphrases(c) and float(vectors[c] @ vectors[a]) >= 0.5]
    rows = []
    for kind, cached, asked in written + others[::every]:
        stored = answers.get(cached)
        if not stored or stored["status"] != "answered":
            continue
        verdict = same_question(asked, cached, stored["answer"], stored["passages"])
        if not verdict.same and not verdict.conflict:
            support = check_support(stored["answer"], stored["passages"], question=asked)
            answers_it = check_relevance(asked, stored["answer"], stored["passages"])
            rows.append({"kind": kind, "cached": cached, "asked": asked, "answer": stored["answer"],
                         "full_checks": {"verdict": "yes" if support.ok and answers_it.ok else "no",
                                         "reason": answers_it.reason if support.ok else support.reason}})
    return rows


async def judge(rows: list[dict]) -> None:
    config = Configuration.from_env()
    for row in rows:
        for name, messages in prompts(row["asked"], row["cached"], row["answer"]).items():
            start = time.perf_counter()
            score, why, _ = await llm_verdict(config, messages, SameQuestion)
            row[name] = {"verdict": score, "reason": why, "seconds": round(time.perf_counter() - start, 2)}
        print(f"  {row['kind']:<13} " + " ".join(f"{n}={row[n]['verdict']:<3}" for n in ("product", "few_shot", "with_answer"))
              + f" | {row['cached']} || {row['asked']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--every", type=int, default=4)
    args = parser.parse_args()
    rows = undecided_pairs(args.every)
    print(f"{len(rows)} pairs reach the judge; model {Configuration.from_env().grader}")
    asyncio.run(judge(rows))
    prompts_used = ("product", "few_shot", "with_answer")
    said_same = {name: dict(Counter(r["kind"] for r in rows if r[name]["verdict"] == "yes"))
                 for name in (*prompts_used, "full_checks")}
    report = {"grader_model": Configuration.from_env().grader, "pairs": dict(Counter(r["kind"] for r in rows)),
              "judged_same": said_same,
              "seconds_p50": float(np.median([r[n]["seconds"] for r in rows for n in prompts_used])), "rows": rows}
    (HERE / "results/cache_judge.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({k: report[k] for k in ("pairs", "judged_same", "seconds_p50")}, indent=2))


if __name__ == "__main__":
    main()
