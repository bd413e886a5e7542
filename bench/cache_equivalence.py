"""Measure the semantic cache's serving rule on written question pairs (bench/data/question_pairs.json):
cosine similarity (MiniLM) at each threshold, and the equivalence rule on top of it.

A pair is served when cosine >= threshold AND `same_question` holds. Reports paraphrase hits and
hard-negative false hits (by kind), on the dev and held-out splits. Writes
bench/results/cache_equivalence.json. Usage: python bench/cache_equivalence.py
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from vetted_rag.embeddings import load_embeddings
from vetted_rag.equivalence import same_question

HERE = Path(__file__).parent
PAIRS = json.loads((HERE / "data/question_pairs.json").read_text())
THRESHOLDS = [0.6, 0.65, 0.7, 0.75, 0.8, 0.85]


def cosine(model, pairs: list[list[str]]) -> list[float]:
    a = np.array(model.embed_documents([p[0] for p in pairs]))
    b = np.array(model.embed_documents([p[1] for p in pairs]))
    return [float(x) for x in (a * b).sum(axis=1)]


def main() -> None:
    model = load_embeddings("minilm")
    report = {}
    for split, data in PAIRS.items():
        if split == "about":
            continue
        para, neg = data["paraphrase"], data["hard_negative"]
        para_sim, neg_sim = cosine(model, para), cosine(model, neg)
        para_same = [same_question(p[1], p[0]).same for p in para]
        neg_same = [same_question(p[1], p[0]) for p in neg]
        rows = []
        for t in THRESHOLDS:
            false_by_kind = Counter(p[2] for p, s, e in zip(neg, neg_sim, neg_same) if s >= t and e.same)
            rows.append({"threshold": t,
                         "paraphrase_hits_cosine_only": sum(s >= t for s in para_sim),
                         "hard_negative_hits_cosine_only": sum(s >= t for s in neg_sim),
                         "paraphrase_hits": sum(s >= t and e for s, e in zip(para_sim, para_same)),
                         "hard_negative_false_hits": sum(false_by_kind.values()),
                         "false_hits_by_kind": dict(false_by_kind)})
        kinds = Counter(p[2] for p in neg)
        blocked = Counter(p[2] for p, e in zip(neg, neg_same) if not e.same)
        report[split] = {"paraphrases": len(para), "hard_negatives": len(neg), "by_threshold": rows,
                         "hard_negatives_by_kind": {k: {"pairs": n, "rejected_by_rule": blocked[k]} for k, n in kinds.items()},
                         "paraphrases_rejected_by_rule": [p for p, e in zip(para, para_same) if not e],
                         "hard_negatives_passed_by_rule": [p for p, e in zip(neg, neg_same) if e.same],
                         "cosine": {"paraphrase_median": round(float(np.median(para_sim)), 3),
                                    "hard_negative_median": round(float(np.median(neg_sim)), 3)}}
        print(f"== {split}: {len(para)} paraphrases, {len(neg)} hard negatives")
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
