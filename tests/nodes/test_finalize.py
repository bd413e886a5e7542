"""finalize: only an attempt that passed every check is `answered`; a stop decided earlier keeps its status."""

from __future__ import annotations

from langgraph.runtime import Runtime

from vetted_rag import Configuration
from vetted_rag.nodes.finalize import finalize

YES = {"grader": "x", "binary_score": "yes", "reason": "fine"}
PASSAGES = [{"id": "p", "source": "s.md", "title": "", "chunk": 0, "score": 0.5, "text": "Goats climb trees."}]


async def run(**state) -> dict:
    return await finalize({"question": "Do goats climb trees?", "passages": PASSAGES, "answers": [], **state},
                          Runtime(context=Configuration()))


async def test_both_grades_yes_is_answered():
    update = await run(generation="Goats climb trees [1].", hallucination_grade=YES, answer_grade=YES)
    assert update["status"] == "answered" and update["citations"]


async def test_a_budget_stop_after_passing_grades_stays_unverified():
    update = await run(generation="Goats climb trees [1].", hallucination_grade=YES, answer_grade=YES,
                       status="unverified", stop_reason="token budget spent: 120 of 100 tokens")
    assert update["status"] == "unverified" and update["answer"] is None
    assert update["stop_reason"] == "token budget spent: 120 of 100 tokens"


async def test_an_ungraded_attempt_is_never_answered():
    update = await run(generation="Goats climb trees [1].", hallucination_grade=YES, answer_grade=None)
    assert update["status"] == "unverified" and update["answer"] is None
