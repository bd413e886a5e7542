"""grade_answer: does the answer answer *this* question? An abstention never does.

Grading 'deterministic' uses the answer check (relevance.py: expected answer type, the
claim tied to the question's focus and to the passage sentence that states it); 'combined'
requires the LLM grader's yes as well."""

from __future__ import annotations

from langgraph.runtime import Runtime

from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import Grade, Score, State, Usage
from vetted_rag.grounding import is_abstention
from vetted_rag.nodes import asked, configuration, llm_verdict, note
from vetted_rag.nodes.schemas import GradeAnswer
from vetted_rag.observability import GRADES
from vetted_rag.prompts import answer_messages
from vetted_rag.relevance import check_relevance, comparative_choice, unverifiable


async def relevance_verdict(config: Configuration, question: str, answer: str,
                            passages: list[dict], run: dict | None = None) -> tuple[Score, str, Usage]:
    """Does `answer` answer `question`? The answer check always; with grading 'combined' the
    LLM grader must agree. Also verifies semantic cache hits."""
    verdict = check_relevance(question, answer, passages)
    if not verdict.ok or config.grading_rule == "deterministic":
        return ("yes" if verdict.ok else "no"), f"answer check: {verdict.reason}", {}
    return await llm_verdict(config, answer_messages(question, answer), GradeAnswer, run)


async def grade_answer(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    answer = state.get("generation", "")
    update: dict = {}
    unchecked = unverifiable(asked(state), answer) if config.grading_rule == "deterministic" else None
    if is_abstention(answer):
        grade = Grade(grader="answer", binary_score="no", reason="the model found no answer in the passages")
    elif unchecked:
        grade = Grade(grader="answer", binary_score="no", reason=f"cannot be verified: {unchecked}")
        if comparative_choice(asked(state)):  # no regeneration or rewrite changes that
            update |= {"retry_action": "stop", "stop_reason": grade["reason"]}
    else:
        score, reason, update["usage"] = await relevance_verdict(config, asked(state), answer, state.get("passages", []),
                                                                 state)
        grade = Grade(grader="answer", binary_score=score, reason=reason)
    GRADES.labels(grader="answer", score=grade["binary_score"]).inc()
    return update | {"answer_grade": grade, "grades": state.get("grades", []) + [grade],
                     "trace": note(grade["binary_score"], grade["reason"])}
