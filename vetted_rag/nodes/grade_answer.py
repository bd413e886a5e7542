"""grade_answer: does the answer address the question? An abstention never does.

Grading 'combined' asks the LLM grader; 'deterministic' uses the relevance check (on topic
and adding information)."""

from __future__ import annotations

from langgraph.runtime import Runtime

from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import Grade, Score, State, Usage
from vetted_rag.grounding import check_relevance, is_abstention
from vetted_rag.nodes import configuration, llm_verdict, note
from vetted_rag.nodes.schemas import GradeAnswer
from vetted_rag.observability import GRADES
from vetted_rag.prompts import answer_messages


async def relevance_verdict(config: Configuration, question: str, answer: str) -> tuple[Score, str, Usage]:
    """Does `answer` address `question`? The relevance check under deterministic grading, else
    the LLM grader. Also verifies semantic cache hits."""
    if config.grading_rule == "deterministic":
        relevant, why = check_relevance(question, answer)
        return ("yes" if relevant else "no"), f"relevance check: {why}", {}
    return await llm_verdict(config, answer_messages(question, answer), GradeAnswer)


async def grade_answer(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    answer = state.get("generation", "")
    update: dict = {}
    if is_abstention(answer):
        grade = Grade(grader="answer", binary_score="no", reason="the model found no answer in the passages")
    else:
        score, reason, update["usage"] = await relevance_verdict(config, state["question"], answer)
        grade = Grade(grader="answer", binary_score=score, reason=reason)
    GRADES.labels(grader="answer", score=grade["binary_score"]).inc()
    return update | {"answer_grade": grade, "grades": state.get("grades", []) + [grade],
                     "trace": note(grade["binary_score"], grade["reason"])}
