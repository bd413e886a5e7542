"""generate: answer only from the numbered passages, citing them; feedback from a failed grade is included."""

from __future__ import annotations

from langgraph.runtime import Runtime

from vetted_rag.graph.budgets import near_duplicate
from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import State
from vetted_rag.grounding import attribute_citations, strip_leading_reply
from vetted_rag.nodes import asked, configuration, note
from vetted_rag.prompts import GENERATE_STOP, generate_messages
from vetted_rag.providers import call_model
from vetted_rag.relevance import expected_type, passage_quote


async def generate(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    messages = generate_messages(asked(state), state.get("passages", []), state.get("feedback"))
    # Every generation begins with the same system prompt, a regeneration with the same passages too.
    reply = await call_model(config.chat_model, config, messages, max_tokens=config.max_answer_tokens,
                             stop=GENERATE_STOP, run=state, reuse_prefix=True)
    # A reply of "Yes, ..." to a question that is not yes/no (seen from the embedded model): the
    # words after it are the answer.
    text = reply.text.strip() if expected_type(asked(state)) == "yes/no" else strip_leading_reply(reply.text.strip())
    answer, attributed = attribute_citations(text, state.get("passages", []), asked(state))
    earlier = state.get("answers", [])
    attempt = state.get("attempts", 0) + 1
    update = {
        "generation": answer, "answers": earlier + [answer], "attempts": attempt, "usage": reply.usage,
        "truncated": reply.truncated,
        "hallucination_grade": None, "answer_grade": None, "code_check": {},
    }
    if near_duplicate(answer, earlier, config.policy.loop_similarity):
        # Rejected for words no passage states, and written again: the passage sentence it comes from is graded
        # instead (the model often cannot answer without adding a word; a verbatim quote adds none).
        grounding_failed = (state.get("hallucination_grade") or {}).get("binary_score") == "no"
        quote = passage_quote(asked(state), answer, state.get("passages", [])) \
            if grounding_failed and config.policy.quote_repeated_answer else None
        if quote and not near_duplicate(quote, earlier, config.policy.loop_similarity):
            return update | {"generation": quote, "answers": earlier + [answer, quote], "retry_action": None,
                             "trace": note("quoted", f"attempt {attempt} repeats a rejected answer; the passage sentence "
                                                     "it comes from is graded instead", attempt=attempt, answer=quote,
                                           rejected=answer)}
        reason = "loop detected: the regenerated answer repeats an earlier, rejected one"
        return update | {"stop_reason": reason, "retry_action": "stop",
                         "trace": note("loop", reason, attempt=attempt, answer=answer)}
    return update | {"retry_action": None, "trace": note("answered", f"attempt {attempt}", attempt=attempt, answer=answer,
                                                         attributed_citations=attributed, truncated=reply.truncated)}
