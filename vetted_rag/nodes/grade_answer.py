"""grade_answer: does the answer answer *this* question? An abstention never does.

Grading 'deterministic' uses the answer check (relevance.py: expected answer type, the
claim tied to the question's focus and to the passage sentence that states it); 'combined'
requires the LLM grader's yes as well. Then the re-read (`reread_answers`): a short name, date
or number must be picked again by the chat model from it and its rivals in the passages, since
no check can tell which of a passage's names is the producer and which the director."""

from __future__ import annotations

from random import Random

from langgraph.runtime import Runtime

from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import Grade, Score, State, Usage, add_usage
from vetted_rag.grounding import is_abstention
from vetted_rag.nodes import asked, configuration, llm_verdict, note
from vetted_rag.nodes.schemas import GradeAnswer, RereadChoice
from vetted_rag.observability import GRADES
from vetted_rag.prompts import REREAD_LETTERS, answer_messages, reread_messages
from vetted_rag.providers import call_model
from vetted_rag.relevance import bare_answer, check_relevance, comparative_choice, rival_answers, unverifiable

# How an answer no word check can confirm (a bare "yes") is graded: the retry regenerates it, never searches again.
UNVERIFIABLE = "cannot be verified: "


async def relevance_verdict(config: Configuration, question: str, answer: str, passages: list[dict],
                            run: dict | None = None, focus: bool = True) -> tuple[Score, str, Usage]:
    """Does `answer` answer `question`? The answer check always; with grading 'combined' the
    LLM grader must agree. Also verifies semantic cache hits (without the focus tie: check_relevance)."""
    verdict = check_relevance(question, answer, passages, focus=focus)
    if not verdict.ok or config.grading_rule == "deterministic":
        return ("yes" if verdict.ok else "no"), f"answer check: {verdict.reason}", {}
    return await llm_verdict(config, answer_messages(question, answer), GradeAnswer, run)


async def reread(config: Configuration, state: State) -> tuple[Score, str, Usage] | None:
    """The chat model picks the answer again, from the generated one and its rivals in the passages, with
    the generation's own prompt (so its evaluation can be reused); None when there are no rivals."""
    question, passages, generation = asked(state), state.get("passages", []), state.get("generation", "")
    rivals = rival_answers(question, generation, passages)
    if not rivals:
        return None
    answer = bare_answer(generation)
    options = [answer] + rivals
    Random(question).shuffle(options)  # not always in the same place (position bias), the same for a question
    reply = await call_model(config.chat_model, config, reread_messages(question, passages, state.get("feedback"), options),
                             RereadChoice, run=state, reuse_prefix=True)
    listed = ", ".join(repr(o) for o in options)
    if reply.parsed is None:
        return "no", f"re-read failed ({reply.error}); options {listed}", reply.usage
    position = REREAD_LETTERS.index(reply.parsed.option)
    picked = options[position] if position < len(options) else None
    if picked == answer:
        return "yes", f"re-read: picked the same answer from {listed}", reply.usage
    return "no", f"re-read: the passages were read as naming {picked!r}, not {answer!r} (options {listed})", reply.usage


async def grade_answer(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    answer = state.get("generation", "")
    update: dict = {}
    unchecked = unverifiable(asked(state), answer) if config.grading_rule == "deterministic" else None
    if is_abstention(answer):
        grade = Grade(grader="answer", binary_score="no", reason="the model found no answer in the passages")
    elif unchecked:
        grade = Grade(grader="answer", binary_score="no", reason=f"{UNVERIFIABLE}{unchecked}")
        if comparative_choice(asked(state)):  # no regeneration or rewrite changes that
            update |= {"retry_action": "stop", "stop_reason": grade["reason"]}
    else:
        score, reason, update["usage"] = await relevance_verdict(config, asked(state), answer, state.get("passages", []),
                                                                 state)
        reread_verdict = await reread(config, state) if score == "yes" and config.reread_answers else None
        if reread_verdict:
            score, reason, spent = reread_verdict
            update["usage"] = add_usage(update["usage"], spent)
        grade = Grade(grader="answer", binary_score=score, reason=reason)
    GRADES.labels(grader="answer", score=grade["binary_score"]).inc()
    return update | {"answer_grade": grade, "grades": state.get("grades", []) + [grade],
                     "trace": note(grade["binary_score"], grade["reason"])}
