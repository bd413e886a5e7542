"""finalize: shape the result. Only an answer that passed every check is `answered`;
anything else is `unverified` (the best attempt only if the policy allows, always flagged),
`refused` or `error`, with the reason.

An `unverified` result carries an answer only when the policy allows it AND some attempt
passed the hallucination check (grounded, but judged not to answer the question): an
ungrounded attempt is exactly what the checks exist to stop, so it is never shown."""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import State
from vetted_rag.grounding import citations_for, is_abstention
from vetted_rag.nodes import asked, configuration, note
from vetted_rag.prompts import PROTECTED
from vetted_rag.security.redaction import redact
from vetted_rag.security.screening import output_leak, withhold_leaks


def passed_every_check(state: State) -> bool:
    grades = (state.get("hallucination_grade"), state.get("answer_grade"))
    check = state.get("code_check") or {}
    return (all(g and g["binary_score"] == "yes" for g in grades)
            and (not check.get("ran") or bool(check.get("ok")))
            and not is_abstention(state.get("generation", "")))


def _why_unverified(state: State, config: Configuration) -> str:
    if state.get("stop_reason"):
        return state["stop_reason"]
    if not state.get("passages"):
        return (f"no passage in the knowledge base is relevant enough (cosine >= {config.relevance_threshold}, "
                "or two of the question's words)")
    return "the last attempt did not pass its checks"


async def finalize(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    status = state.get("status")
    if status is None:  # no earlier node decided (a budget stop, refusal or provider error keeps its status)
        status = "answered" if passed_every_check(state) else "unverified"
    stop_reason = "" if status == "answered" else (state.get("stop_reason") or _why_unverified(state, config))
    shown: dict = {"answer": state.get("generation", ""), "passages": state.get("passages", [])}
    if status != "answered":
        shown = (state.get("grounded_attempt") or {}) if config.policy.return_unverified_answer else {}
    generation = shown.get("answer") or ""
    leak = output_leak(generation, PROTECTED) if generation else None
    if leak:  # never released, whatever the graders said
        status, stop_reason, generation = "unverified", f"answer withheld: {leak}", ""
    # Any attempt that leaked (released or not) is scrubbed from the trace and grades, which quote it.
    leaked = leak or any(output_leak(a, PROTECTED) for a in state.get("answers", []) if a)
    answer = (redact(generation) if config.redact_answers else generation) if generation else None
    update = {
        "status": status,
        "stop_reason": stop_reason,
        "answer": answer,
        "citations": citations_for(generation, shown.get("passages", [])) if answer else [],
        "iterations": state.get("attempts", 0),
        "trace": note(status, stop_reason or "every check passed"),
    }
    if leaked:
        update["grades"] = withhold_leaks(state.get("grades", []), PROTECTED)
        update["trace"] = Overwrite(withhold_leaks(state.get("trace", []), PROTECTED) + update["trace"])
    if status == "answered":
        update["history"] = [{"question": asked(state), "answer": generation}]
    return update
