"""retry: after a failed check, regenerate or rewrite — or stop when a budget is spent."""

from __future__ import annotations

import time

from langgraph.runtime import Runtime

from vetted_rag import Configuration, RunPolicy
from vetted_rag.nodes.retry import retry

NO_GROUNDING = {"grader": "hallucination", "binary_score": "no", "reason": "'Paris' is not in the passages"}


def rt(**policy) -> Runtime:
    return Runtime(context=Configuration(chat_model="heuristic", policy=RunPolicy(**policy)))


async def test_an_ungrounded_attempt_is_regenerated_with_the_reason_as_feedback():
    update = await retry({"question": "q", "attempts": 1, "hallucination_grade": NO_GROUNDING}, rt())
    assert update["retry_action"] == "regenerate" and update["feedback"] == NO_GROUNDING["reason"]


async def test_the_iteration_budget_stops_the_run():
    update = await retry({"question": "q", "attempts": 3, "hallucination_grade": NO_GROUNDING}, rt(max_iterations=3))
    assert update["retry_action"] == "stop" and update["stop_reason"].startswith("iteration budget spent: 3 of 3")


async def test_the_wall_clock_stops_the_run():
    update = await retry({"question": "q", "attempts": 1, "hallucination_grade": NO_GROUNDING,
                          "deadline": time.time() - 1}, rt())
    assert update["retry_action"] == "stop" and update["stop_reason"].startswith("wall-clock limit")


async def test_an_answer_no_check_can_confirm_is_regenerated_not_searched_again():
    bare_yes = {"grader": "answer", "binary_score": "no",
                "reason": "cannot be verified: a bare yes or no: no word of it can be checked against the passages"}
    grounded = {"grader": "hallucination", "binary_score": "yes", "reason": "ok"}
    update = await retry({"question": "Does it pool connections?", "attempts": 1, "hallucination_grade": grounded,
                          "answer_grade": bare_yes}, rt())
    assert update["retry_action"] == "regenerate" and "bare yes or no" in update["feedback"]
    assert "rewrites" not in update  # no rewrite of the question was spent on it

