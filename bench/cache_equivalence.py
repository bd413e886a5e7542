"""Measure the semantic cache's serving rule on written question pairs: bench/data/question_pairs.json
(dev and held-out), bench/data/question_rewordings.json (broader rewordings, dev and held-out) and the
earlier set tests/data/cache_pairs.json.

A stored answer is served for a new question when cosine >= threshold AND `same_question`
holds AND the answer check passes for the new question — as `cache_lookup` does. The stored
answers are the embedded agent's real answers to the first question of each pair (asked once,
kept in bench/results/cache_answers.json). Reports paraphrase hits and hard-negative false hits
by kind. Writes bench/results/cache_equivalence.json. Usage: python bench/cache_equivalence.py [EMBEDDING]
(default: the configured cache embedding model)
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from vetted_rag.equivalence import same_question
from vetted_rag.knowledge.embeddings import load_embeddings
from vetted_rag.relevance import check_relevance

HERE = Path(__file__).parent
PAIRS = json.loads((HERE / "data/question_pairs.json").read_text())
for split, data in json.loads((HERE / "data/question_rewordings.json").read_text()).items():
    if split != "about":
        PAIRS[f"rewordings_{split}"] = data
EARLIER = json.loads((HERE.parent / "tests/data/cache_pairs.json").read_text())
PAIRS["earlier_rewordings"] = {"paraphrase": EARLIER["paraphrase"],
                               "hard_negative": [p + ["earlier set"] for p in EARLIER["hard_negative"]]}
THRESHOLDS = [0.6, 0.65, 0.7, 0.75, 0.8, 0.85]
ANSWERS = HERE / "results/cache_answers.json"


def stored_answers(questions: list[str]) -> dict[str, dict]:
    """The agent's answer (and passages) to each question, as the cache would hold them."""
    import tempfile

    from vetted_rag import Agent, Configuration

    known = json.loads(ANSWERS.read_text()) if ANSWERS.exists() else {}
    missing = [q for q in dict.fromkeys(questions) if q not in known]
    if missing:
        agent = Agent(Configuration.from_env(data_dir=tempfile.mkdtemp(prefix="vr-cache-eq-"), cache_enabled=False))
        for question in missing:
            result = agent.ask(question)
            passages = [p for e in result.trace if e["node"] == "retrieve" for p in e["details"].get("passages", [])]
            known[question] = {"status": result.status, "answer": result.answer or "", "passage_ids": passages}
            print(f"  stored answer: {result.status:<10} {question} -> {result.answer}", flush=True)
        ANSWERS.parent.mkdir(exist_ok=True)
        ANSWERS.write_text(json.dumps(known, indent=2))
    return known


def attach_passages(answers: dict[str, dict]) -> None:
    """Give each stored answer its passages (`stored["passages"]`), read by id from the sample knowledge
    base (a cache entry keeps its passages, and the answer check reads them)."""
    import tempfile

    from vetted_rag import Configuration
    from vetted_rag.knowledge.store import open_knowledge_base

    kb = open_knowledge_base(Configuration.from_env(data_dir=tempfile.mkdtemp(prefix="vr-cache-eq-")))
    kb.ensure_sample()
    ids = sorted({p["id"] for a in answers.values() for p in a["passage_ids"]})
    found = kb._collection.get(ids=ids, include=["documents"])
    texts = {pid: {"id": pid, "text": text} for pid, text in zip(found["ids"], found["documents"])}
    for stored in answers.values():
        stored["passages"] = [texts[p["id"]] for p in stored["passage_ids"] if p["id"] in texts]


def same(asked: str, cached: str, stored: dict) -> bool:
    return same_question(asked, cached, stored["answer"], stored["passages"]).same


def served(asked: str, cached: str, stored: dict, similarity: float, threshold: float) -> bool:
    """cache_lookup's rule; only `answered` results are ever stored."""
    if stored["status"] != "answered" or similarity < threshold:
        return False
    return same(asked, cached, stored) and check_relevance(asked, stored["answer"], stored["passages"], focus=False).ok


def cosine(model, pairs: list[list[str]]) -> list[float]:
    a = np.array(model.embed_documents([p[0] for p in pairs]))
    b = np.array(model.embed_documents([p[1] for p in pairs]))
    return [float(x) for x in (a * b).sum(axis=1)]


def main() -> None:
    from vetted_rag import Configuration

    name = sys.argv[1] if len(sys.argv) > 1 else Configuration().cache_embedding_model
    model = load_embeddings(name)
    print(f"cache embedding model: {name}")
    answers = stored_answers([p[0] for split, data in PAIRS.items() if split != "about"
                              for kind in ("paraphrase", "hard_negative") for p in data[kind]])
    attach_passages(answers)
    from vetted_rag.cache.base import DEFAULT_THRESHOLDS, FALLBACK_THRESHOLD

    report = {"embedding_model": name, "default_threshold": DEFAULT_THRESHOLDS.get(name, FALLBACK_THRESHOLD)}
    for split, data in PAIRS.items():
        if split == "about":
            continue
        para, neg = data["paraphrase"], data["hard_negative"]
        para_sim, neg_sim = cosine(model, para), cosine(model, neg)
        para_stored = sum(answers[p[0]]["status"] == "answered" for p in para)
        rows = []
        for t in THRESHOLDS:
            para_hits = [served(p[1], p[0], answers[p[0]], s, t) for p, s in zip(para, para_sim)]
            false = [p for p, s in zip(neg, neg_sim) if served(p[1], p[0], answers[p[0]], s, t)]
            false_by_kind = Counter(p[2] for p in false)
            rows.append({"threshold": t, "paraphrase_hits_cosine_only_with_a_stored_answer":
                         sum(s >= t and answers[p[0]]["status"] == "answered" for p, s in zip(para, para_sim)),
                         "paraphrase_hits_cosine_only": sum(s >= t for s in para_sim),
                         "hard_negative_hits_cosine_only": sum(s >= t for s in neg_sim),
                         "paraphrase_hits": sum(para_hits),
                         "hard_negative_false_hits": len(false),
                         "false_hits_by_kind": dict(false_by_kind), "false_hits": false})
        neg_same = [same(p[1], p[0], answers[p[0]]) for p in neg]
        kinds = Counter(p[2] for p in neg)
        blocked = Counter(p[2] for p, e in zip(neg, neg_same) if not e)
        report[split] = {"paraphrases": len(para), "paraphrases_with_a_stored_answer": para_stored,
                         "hard_negatives": len(neg), "by_threshold": rows,
                         "hard_negatives_by_kind": {k: {"pairs": n, "rejected_by_rule": blocked[k]} for k, n in kinds.items()},
                         "paraphrases_rejected_by_rule": [p for p in para if answers[p[0]]["status"] == "answered" and
                                                          not same(p[1], p[0], answers[p[0]])],
                         "hard_negatives_passed_by_rule": [p for p, e in zip(neg, neg_same) if e],
                         "cosine": {"paraphrase_median": round(float(np.median(para_sim)), 3),
                                    "hard_negative_median": round(float(np.median(neg_sim)), 3)}}
        print(f"== {split}: {len(para)} paraphrases ({para_stored} with a stored answer), {len(neg)} hard negatives")
        for r in rows:
            print(f"  t={r['threshold']:.2f}  cosine only: para {r['paraphrase_hits_cosine_only']:>2} neg "
                  f"{r['hard_negative_hits_cosine_only']:>2}   with rule: para {r['paraphrase_hits']:>2} neg "
                  f"{r['hard_negative_false_hits']:>2} {r['false_hits_by_kind'] or ''}")
        print("  paraphrases the rule rejects:", report[split]["paraphrases_rejected_by_rule"])
        print("  hard negatives the rule passes:", report[split]["hard_negatives_passed_by_rule"])
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results/cache_equivalence.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
