"""generate: answer only from the numbered passages, citing them; feedback from a failed grade is included."""

from __future__ import annotations

from langgraph.runtime import Runtime

from vetted_rag.graph.budgets import near_duplicate
from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import State
from vetted_rag.grounding import attribute_citations
from vetted_rag.nodes import configuration, note
from vetted_rag.prompts import GENERATE_STOP, generate_messages
from vetted_rag.providers import call_model


async def generate(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    messages = generate_messages(state["question"], state.get("passages", []), state.get("feedback"),
                                 state.get("history", []))
    reply = await call_model(config.chat_model, config, messages, max_tokens=config.max_answer_tokens,
                             stop=GENERATE_STOP)
    answer, attributed = attribute_citations(reply.text.strip(), state.get("passages", []), config.support_threshold)
    earlier = state.get("answers", [])
    attempt = state.get("attempts", 0) + 1
    update = {
        "generation": answer, "answers": earlier + [answer], "attempts": attempt, "usage": reply.usage,
        "hallucination_grade": None, "answer_grade": None, "code_check": {},
    }
    if near_duplicate(answer, earlier, config.policy.loop_similarity):
        reason = "loop detected: the regenerated answer repeats an earlier, rejected one"
        return update | {"stop_reason": reason, "retry_action": "stop",
                         "trace": note("loop", reason, attempt=attempt, answer=answer)}
    return update | {"retry_action": None, "trace": note("answered", f"attempt {attempt}", attempt=attempt, answer=answer,
                                                                 attributed_citations=attributed)}
