"""grade_answer: answers the checks cannot verify are not released under deterministic grading."""

from __future__ import annotations

from langgraph.runtime import Runtime

from vetted_rag import Configuration
from vetted_rag.nodes.grade_answer import grade_answer

PASSAGES = [{"id": "p", "source": "s.md", "title": "", "chunk": 0,
             "text": "Arthur's Magazine (1844-1846) was an American literary periodical. First for Women is a "
                     "woman's magazine published since 1989. Both are magazines."}]


async def grade(question: str, answer: str, **config) -> dict:
    return await grade_answer({"question": question, "generation": answer, "passages": PASSAGES, "grades": []},
                              Runtime(context=Configuration(**config)))


async def test_a_bare_yes_is_not_verifiable():
    update = await grade("Are both magazines?", "Yes [1].")
    assert update["answer_grade"]["binary_score"] == "no" and "bare yes or no" in update["answer_grade"]["reason"]
    assert "retry_action" not in update  # a regeneration may state the fact behind the yes


async def test_a_comparative_pick_stops_the_run():
    update = await grade("Which magazine was started first, Arthur's Magazine or First for Women?",
                         "Arthur's Magazine [1].")
    assert update["answer_grade"]["binary_score"] == "no" and update["retry_action"] == "stop"
    assert "comparison" in update["stop_reason"]


async def test_a_yes_with_its_statement_passes():
    update = await grade("Are both magazines?", "Yes, both are magazines [1].")
    assert update["answer_grade"]["binary_score"] == "yes", update["answer_grade"]["reason"]
