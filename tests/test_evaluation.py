"""The evaluation harness as a regression gate (heuristic deterministic model), and its metrics."""

from __future__ import annotations

import json
from pathlib import Path

from vetted_rag import Configuration
from vetted_rag.evaluation import (contains_gold, evaluate, exact_match, grader_benchmark, halueval_qa,
                                   regressions, render_html, token_f1)

BASELINE = Path(__file__).parent / "data/eval_baseline.json"


def test_answer_metrics():
    assert exact_match("The Eiffel Tower!", ["eiffel tower"]) == 1.0
    assert token_f1("the tower in Paris", ["Eiffel Tower"]) == 0.4
    assert contains_gold("It is Arthur's Magazine [1].", ["Arthur's Magazine"]) == 1.0


def test_slices_are_fixed_by_seed():
    a, b = halueval_qa(5, 2, seed=3), halueval_qa(5, 2, seed=3)
    assert [i.question for i in a.items] == [i.question for i in b.items]
    assert sum(i.answerable for i in a.items) == 5 and len(a.documents) == 5
    assert {d.source for d in a.documents} == {s for i in a.items for s in i.gold_sources}


async def test_eval_gate_against_committed_baseline(tmp_path):
    baseline = json.loads(BASELINE.read_text())
    config = Configuration(chat_model="heuristic", data_dir=str(tmp_path))
    report = await evaluate(halueval_qa(16, 4, seed=0), config, progress=False)
    assert report["dataset"] == baseline["dataset"]
    assert regressions(report, baseline) == []
    for system in ("graded", "baseline"):
        summary = report["systems"][system]
        print(system, {k: summary[k] for k in ("contains_gold", "abstention_rate", "latency_p50_s", "tokens_total")})
        assert summary["questions"] == 20 and summary["unanswerable"] == 4
    assert "<svg" in render_html(report)


def test_the_gate_catches_a_drop():
    baseline = json.loads(BASELINE.read_text())
    worse = json.loads(BASELINE.read_text())
    worse["systems"]["graded"]["contains_gold"] -= 0.1
    assert regressions(worse, baseline) == [
        f"graded.contains_gold: {baseline['systems']['graded']['contains_gold']} -> "
        f"{worse['systems']['graded']['contains_gold']}"]


async def test_grader_benchmark_shape(tmp_path):
    report = await grader_benchmark(6, Configuration(chat_model="heuristic", data_dir=str(tmp_path)), progress=False)
    detection = report["hallucination_detection"]["combined"]
    assert detection["n"] == 12 and sum(detection["confusion"].values()) == 12
    assert report["offtopic_detection"]["combined"]["n"] == 12
