"""The evaluation report: summary per system, regressions against a baseline, text and HTML tables."""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from typing import Any

from vetted_rag.evaluation.datasets import EvalItem, EvalSet
from vetted_rag.evaluation.metrics import contains_gold, exact_match, mean_of, percentile, token_f1

HIGHER_IS_BETTER = ("contains_gold", "token_f1", "exact_match", "released_precision", "faithful_rate",
                    "citation_precision", "abstention_rate")
LOWER_IS_BETTER = ("false_release_rate",)


@dataclass
class Record:
    system: str
    question: str
    answerable: bool
    released: bool  # an answer was given as the system's answer (graded: only `answered`)
    answer: str
    status: str
    attempts: int
    latency_s: float
    tokens: int
    cost_usd: float
    cited_sources: list[str]
    faithful: bool
    scores: dict[str, float]


def score(item: EvalItem, answer: str, released: bool) -> dict[str, float]:
    if not item.answerable:
        return {}
    shown = answer if released else ""
    return {"exact_match": exact_match(shown, item.answers), "token_f1": token_f1(shown, item.answers),
            "contains_gold": contains_gold(shown, item.answers)}


def summarise(records: list[Record], evalset: EvalSet) -> dict[str, Any]:
    gold = {i.question: set(i.gold_sources) for i in evalset.items}
    answerable = [r for r in records if r.answerable]
    unanswerable = [r for r in records if not r.answerable]
    released = [r for r in answerable if r.released]
    cited = [r for r in released if r.cited_sources and gold[r.question]]
    return {
        "questions": len(records),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "released_rate": mean_of([float(r.released) for r in answerable]),
        "exact_match": mean_of([r.scores["exact_match"] for r in answerable]),
        "token_f1": mean_of([r.scores["token_f1"] for r in answerable]),
        "contains_gold": mean_of([r.scores["contains_gold"] for r in answerable]),
        "released_precision": mean_of([r.scores["contains_gold"] for r in released]),
        "faithful_rate": mean_of([float(r.faithful) for r in records if r.released]),
        "citation_precision": mean_of([sum(s in gold[r.question] for s in r.cited_sources) / len(r.cited_sources)
                                     for r in cited]),
        "abstention_rate": mean_of([float(not r.released) for r in unanswerable]),
        "false_release_rate": mean_of([float(r.released) for r in unanswerable]),
        "statuses": dict(Counter(r.status for r in records)),
        "attempts_mean": mean_of([float(r.attempts) for r in records]),
        "latency_p50_s": percentile([r.latency_s for r in records], 0.5),
        "latency_p95_s": percentile([r.latency_s for r in records], 0.95),
        "tokens_total": sum(r.tokens for r in records),
        "cost_usd_total": round(sum(r.cost_usd for r in records), 6),
    }


def regressions(report: dict[str, Any], baseline: dict[str, Any], tolerance: float = 0.02) -> list[str]:
    """Metrics that got worse than the committed baseline by more than `tolerance`."""
    found = []
    for system, old in baseline["systems"].items():
        new = report["systems"].get(system, {})
        for metric in HIGHER_IS_BETTER + LOWER_IS_BETTER:
            if old.get(metric) is None:
                continue
            value = new.get(metric)
            worse = value is None or (value < old[metric] - tolerance if metric in HIGHER_IS_BETTER
                                      else value > old[metric] + tolerance)
            if worse:
                found.append(f"{system}.{metric}: {old[metric]} -> {value}")
    return found


ROWS = [("released_rate", "answers released (answerable)"), ("contains_gold", "correct: contains gold"),
        ("token_f1", "token F1"), ("exact_match", "exact match"), ("released_precision", "precision of released answers"),
        ("faithful_rate", "faithful (support check)"), ("citation_precision", "citation precision"),
        ("abstention_rate", "abstains when unanswerable"), ("false_release_rate", "answers when unanswerable"),
        ("attempts_mean", "generations per question (mean)"), ("latency_p50_s", "latency p50 (s)"),
        ("latency_p95_s", "latency p95 (s)"), ("tokens_total", "tokens (total)"), ("cost_usd_total", "cost (USD)")]


def render_table(report: dict[str, Any]) -> str:
    systems = list(report["systems"])
    lines = [f"dataset {report['dataset']}  model {report['chat_model']}",
             f"{'metric':<34}" + "".join(f"{s:>14}" for s in systems)]
    for key, label in ROWS:
        cells = [report["systems"][s].get(key) for s in systems]
        lines.append(f"{label:<34}" + "".join(f"{'—' if c is None else c:>14}" for c in cells))
    for s in systems:  # one line each: the counts do not fit a column
        counts = ", ".join(f"{k} {v}" for k, v in sorted(report["systems"][s]["statuses"].items()))
        lines.append(f"{'statuses (' + s + ')':<34}{counts}")
    return "\n".join(lines)


def render_graders(report: dict[str, Any]) -> str:
    """The grader benchmark as a table (positive class: the failure the grader must catch)."""
    lines = [f"dataset {report['dataset']}  grader model {report['grader_model']}  rule {report['grading_rule']}",
             f"{'grader':<16}{'task':<15}{'default':>8}{'bal.acc':>9}{'caught':>8}{'kept':>7}   tp / fp / tn / fn"]
    for g in report["graders"]:
        cells = [("—" if g[k] is None else f"{g[k]:.3f}") for k in ("balanced_accuracy", "recall", "kept")]
        lines.append(f"{g['grader']:<16}{g['task']:<15}{'yes' if g['default'] else '':>8}{cells[0]:>9}{cells[1]:>8}"
                     f"{cells[2]:>7}   {g['tp']} / {g['fp']} / {g['tn']} / {g['fn']}")
    return "\n".join(lines)


def render_html(report: dict[str, Any]) -> str:
    """A self-contained page: one bar pair per rate metric, then the full table and records."""
    systems = list(report["systems"])
    colours = {"graded": "#3b6fd8", "baseline": "#c9822b"}
    bars = []
    for key, label in ROWS[:9]:
        row = [f"<div class='metric'>{html.escape(label)}</div>"]
        for s in systems:
            value = report["systems"][s].get(key)
            width = 0 if value is None else int(260 * value)
            row.append(f"<svg width='400' height='18'><rect width='{width}' height='14' fill='{colours.get(s, '#777')}'/>"
                       f"<text x='{width + 4}' y='12' font-size='11'>{s}: {'—' if value is None else f'{value:.2f}'}</text></svg>")
        bars.append("<div class='row'>" + "".join(row) + "</div>")
    records = "".join(
        f"<tr><td>{html.escape(r['system'])}</td><td>{html.escape(r['question'])}</td><td>{r['status']}</td>"
        f"<td>{html.escape(r['answer'][:160])}</td><td>{r['scores'].get('contains_gold', '')}</td></tr>"
        for r in report["records"])
    return f"""<!doctype html><html><head><meta charset='utf-8'><title>vetted-rag eval</title>
<style>body{{font-family:sans-serif;margin:2em}}.row{{display:flex;gap:1em;align-items:center}}
.metric{{width:260px}}td,th{{border-bottom:1px solid #ddd;padding:4px;font-size:12px;text-align:left}}</style></head>
<body><h1>Graded loop vs plain RAG</h1><p>{html.escape(report['dataset'])} · model {html.escape(report['chat_model'])}</p>
{''.join(bars)}<h2>All figures</h2><pre>{html.escape(render_table(report))}</pre>
<h2>Runs</h2><table><tr><th>system</th><th>question</th><th>status</th><th>answer</th><th>correct</th></tr>{records}</table>
</body></html>"""
