"""Answer-quality and binary-classification metrics of the evaluation."""

from __future__ import annotations

import re
import statistics
import string
from collections import Counter
from typing import Any


def normalise(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, golds: list[str]) -> float:
    return float(any(normalise(prediction) == normalise(g) for g in golds))


def token_f1(prediction: str, golds: list[str]) -> float:
    best = 0.0
    pred = normalise(prediction).split()
    for gold in golds:
        ref = normalise(gold).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if common:
            precision, recall = common / len(pred), common / len(ref)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains_gold(prediction: str, golds: list[str]) -> float:
    return float(any(normalise(g) and normalise(g) in normalise(prediction) for g in golds))


# ---- one system on one question ------------------------------------------------------------------


def mean_of(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 3)


def binary_metrics(pairs: list[tuple[bool, bool]]) -> dict[str, Any]:
    """Metrics for detecting the positive class (a failure: hallucinated / not answering);
    pairs are (truth, predicted). Balanced accuracy is the mean of both classes' recall."""
    tp = sum(t and p for t, p in pairs)
    fp = sum(p and not t for t, p in pairs)
    fn = sum(t and not p for t, p in pairs)
    tn = sum(not t and not p for t, p in pairs)
    recall = tp / (tp + fn) if tp + fn else None
    specificity = tn / (tn + fp) if tn + fp else None
    balanced = (recall + specificity) / 2 if recall is not None and specificity is not None else None
    return {"n": len(pairs), "balanced_accuracy": None if balanced is None else round(balanced, 4),
            "recall": None if recall is None else round(recall, 4),
            "kept": None if specificity is None else round(specificity, 4),
            "tp": tp, "fp": fp, "tn": tn, "fn": fn}
