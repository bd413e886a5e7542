"""The evaluation harness as a regression gate (heuristic deterministic model), and its metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vetted_rag import Configuration
from vetted_rag.evaluation.datasets import halueval_qa, load_dataset
from vetted_rag.evaluation.metrics import contains_gold, exact_match, token_f1
from vetted_rag.evaluation.report import regressions, render_html
from vetted_rag.evaluation.runners import evaluate, grader_benchmark

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


async def test_grader_benchmark_reports_each_grader_and_task(tmp_path):
    report = await grader_benchmark(6, Configuration(chat_model="heuristic", data_dir=str(tmp_path)), progress=False)
    by = {(g["grader"], g["task"]): g for g in report["graders"]}
    assert set(by) == {("support_check", "hallucination"), ("llm_grader", "hallucination"), ("combined", "hallucination"),
                       ("answer_check", "relevance"), ("llm_grader", "relevance"), ("combined", "relevance")}
    support = by[("support_check", "hallucination")]
    assert support["tp"] + support["fp"] + support["tn"] + support["fn"] == 12  # a right and a hallucinated answer
    assert [g["default"] for g in report["graders"] if g["default"]] and by[("combined", "hallucination")]["default"]


def test_own_dataset_in_halueval_or_documented_columns(tmp_path):
    path = tmp_path / "own.jsonl"
    path.write_text(json.dumps({"knowledge": "Delhi is the seat.", "question": "Where is the seat?",
                                "right_answer": "Delhi", "hallucinated_answer": "Mumbai"}) + "\n\n"
                    + json.dumps({"question": "When?", "answer": "1990", "context": ["It began in 1990."]}) + "\n"
                    + json.dumps({"question": "Not here?", "answerable": False}) + "\n")
    evalset = load_dataset(path)
    assert [i.answerable for i in evalset.items] == [True, True, False]
    assert evalset.items[0].hallucinated == "Mumbai" and len(evalset.documents) == 2


@pytest.mark.parametrize("line, problem", [
    ("{not json", "own.jsonl:2: not JSON"),
    (json.dumps({"answer": "x"}), "own.jsonl:2: each line needs a non-empty string 'question'"),
    (json.dumps({"question": "q", "context": 5}), "own.jsonl:2: 'answer' and 'context' must be strings"),
])
def test_a_bad_dataset_line_is_named(tmp_path, line, problem):
    path = tmp_path / "own.jsonl"
    path.write_text(json.dumps({"question": "fine?", "answer": "yes"}) + "\n" + line + "\n")
    with pytest.raises(ValueError, match=problem):
        load_dataset(path)


def test_cli_graders_on_own_dataset_writes_the_graders_list(tmp_path):
    import subprocess
    import sys

    data = tmp_path / "own.jsonl"
    data.write_text("".join(json.dumps({"question": f"Where is office {n}?", "answer": "Delhi",
                                        "context": f"Office {n} is in Delhi. It opened in 19{n}0.",
                                        "hallucinated_answer": "Mumbai"}) + "\n" for n in range(1, 6)))
    out = tmp_path / "graders.json"
    done = subprocess.run([sys.executable, "-m", "vetted_rag.cli", "eval", "--graders", "5", "--dataset", str(data),
                           "--json", str(out), "--quiet", "--data-dir", str(tmp_path / "d")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    graders = json.loads(out.read_text())["graders"]
    support = next(g for g in graders if g["grader"] == "support_check")
    assert support["default"] and support["task"] == "hallucination" and support["balanced_accuracy"] == 1.0
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{}\n")
    failed = subprocess.run([sys.executable, "-m", "vetted_rag.cli", "eval", "--dataset", str(bad), "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert failed.returncode == 2 and failed.stderr.strip().count("\n") == 0 and "bad.jsonl:1" in failed.stderr


def test_report_table_gives_each_system_its_own_statuses_line():
    from vetted_rag.evaluation.report import render_table

    baseline = json.loads(BASELINE.read_text())
    table = render_table({**baseline, "records": []})
    assert "statuses (graded)" in table and "statuses (baseline)" in table
    assert "graded attempts" not in table and "generations per question" in table
