"""grade_hallucination: is the answer grounded in the retrieved passages?

Rule: the deterministic support check (valid citations, every claim unit of every sentence
found in its cited passages, no degenerate or cut-off output; grounding.py) runs first.
With grading 'combined' the LLM grader is then asked and the grade is "yes" only if both
say yes; with 'deterministic' the check decides.
Malformed grader output (after a retry) counts as "no".
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import Grade, State
from vetted_rag.grounding import check_support, is_abstention
from vetted_rag.nodes import asked, configuration, llm_verdict, note
from vetted_rag.nodes.schemas import GradeHallucination
from vetted_rag.observability import GRADES
from vetted_rag.prompts import hallucination_messages


async def grade_hallucination(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    answer, passages = state.get("generation", ""), state.get("passages", [])
    report = check_support(answer, passages, config.require_citations, truncated=bool(state.get("truncated")),
                           question=asked(state))
    update: dict = {}
    if not report.ok:
        grade = Grade(grader="hallucination", binary_score="no", reason=f"support check: {report.reason}")
    elif is_abstention(answer) or config.grading_rule == "deterministic":
        grade = Grade(grader="hallucination", binary_score="yes", reason=f"support check: {report.reason}")
    else:
        score, reason, update["usage"] = await llm_verdict(config, hallucination_messages(answer, passages),
                                                           GradeHallucination, state)
        grade = Grade(grader="hallucination", binary_score=score, reason=reason)
    GRADES.labels(grader="hallucination", score=grade["binary_score"]).inc()
    if grade["binary_score"] == "yes" and not is_abstention(answer):
        # The only kind of failed attempt an unverified result may show (policy permitting).
        update["grounded_attempt"] = {"answer": answer, "passages": passages}
    return update | {
        "hallucination_grade": grade,
        "grades": state.get("grades", []) + [grade],
        "trace": note(grade["binary_score"], grade["reason"], missing=report.missing[:10],
                      invalid_citations=report.invalid_citations, unsupported=report.unsupported[:3]),
    }
