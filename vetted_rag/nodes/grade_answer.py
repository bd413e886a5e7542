"""grade_answer: does the answer address the question? An abstention never does.

Grading 'combined' asks the LLM grader; 'deterministic' uses the relevance check (on topic
and adding information)."""

from __future__ import annotations

from langgraph.runtime import Runtime

from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import Grade, State
from vetted_rag.grounding import check_relevance, is_abstention
from vetted_rag.nodes import configuration, note
from vetted_rag.nodes.schemas import GradeAnswer
from vetted_rag.observability import GRADES
from vetted_rag.prompts import answer_messages
from vetted_rag.providers import call_model


async def grade_answer(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    answer = state.get("generation", "")
    update: dict = {}
    if is_abstention(answer):
        grade = Grade(grader="answer", binary_score="no", reason="the model found no answer in the passages")
    elif config.grading_rule == "deterministic":
        relevant, why = check_relevance(state["question"], answer)
        grade = Grade(grader="answer", binary_score="yes" if relevant else "no", reason=f"relevance check: {why}")
    else:
        reply = await call_model(config.grader, config, answer_messages(state["question"], answer),
                                 schema=GradeAnswer, max_tokens=80)
        update["usage"] = reply.usage
        grade = (Grade(grader="answer", binary_score="no", reason=f"grader {reply.error}") if reply.parsed is None
                 else Grade(grader="answer", binary_score=reply.parsed.binary_score, reason=f"grader: {reply.parsed.reason}"))
    GRADES.labels(grader="answer", score=grade["binary_score"]).inc()
    return update | {"answer_grade": grade, "grades": state.get("grades", []) + [grade],
                     "trace": note(grade["binary_score"], grade["reason"])}
