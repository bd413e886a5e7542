"""Choose the semantic-cache threshold for an embedding model by measurement.

For each threshold: hit rate on paraphrases (want high), false-hit rate on hard negatives
(caught by answer-grader verification, which is on by default) and on unrelated pairs (must
be zero). Usage: python bench/cache_threshold.py [embedding-model]  (default: minilm)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from vetted_rag.cache import DEFAULT_THRESHOLDS
from vetted_rag.embeddings import load_embeddings

PAIRS = Path(__file__).resolve().parents[1] / "tests/data/cache_pairs.json"


def similarities(model_name: str) -> dict[str, list[float]]:
    model = load_embeddings(model_name)
    data = json.loads(PAIRS.read_text())
    out = {}
    for kind in ("paraphrase", "hard_negative", "unrelated"):
        a = np.array(model.embed_documents([p[0] for p in data[kind]]))
        b = np.array(model.embed_documents([p[1] for p in data[kind]]))
        out[kind] = [float(x) for x in (a * b).sum(axis=1)]
    return out


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "minilm"
    sims = similarities(name)
    for kind, values in sims.items():
        print(f"{kind:<14} n={len(values):<3} min {min(values):.3f}  median {np.median(values):.3f}  max {max(values):.3f}")
    print(f"\n{'threshold':>9} {'paraphrase hit':>15} {'hard-neg false hit':>19} {'unrelated false hit':>20}")
    for t in np.arange(0.60, 1.0, 0.05):
        rates = [np.mean([v >= t for v in sims[k]]) for k in ("paraphrase", "hard_negative", "unrelated")]
        print(f"{t:>9.2f} {rates[0]:>15.0%} {rates[1]:>19.0%} {rates[2]:>20.0%}")
    current = DEFAULT_THRESHOLDS.get(name)
    if current is not None:
        rates = [np.mean([v >= current for v in sims[k]]) for k in ("paraphrase", "hard_negative", "unrelated")]
        print(f"\ndefault {current}: paraphrase hit {rates[0]:.0%}, hard-negative false hit {rates[1]:.0%} "
              f"(verified by the answer grader before serving), unrelated false hit {rates[2]:.0%}")


if __name__ == "__main__":
    main()
