"""retry: after a failed check, decide how to try again — or stop when a budget is spent.

Not grounded, code that fails, or an answer no check can confirm (a bare "yes") -> regenerate
with the reason as feedback. Grounded but not addressing the question -> rewrite the question
and retrieve again (while rewrites remain), else regenerate. A rewrite that keeps no word of the
question is discarded for a regeneration. One that repeats an earlier query cannot find anything
new, so the search goes deeper instead: the same query's next `top_k` passages (retrieve.py).
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from vetted_rag.graph.budgets import exhausted, near_duplicate
from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import State
from vetted_rag.grounding import content_words
from vetted_rag.nodes import asked, configuration, note
from vetted_rag.nodes.grade_answer import UNVERIFIABLE
from vetted_rag.nodes.schemas import RewrittenQuestion
from vetted_rag.prompts import rewrite_messages
from vetted_rag.providers import call_model


def _failure(state: State) -> tuple[str, str]:
    """(which check failed, its reason)."""
    check = state.get("code_check") or {}
    if check.get("ran") and not check.get("ok"):
        return "code", f"the code in your answer failed when run: {check.get('error')}"
    grade = state.get("hallucination_grade")
    if grade and grade["binary_score"] == "no":
        return "grounding", grade["reason"]
    grade = state.get("answer_grade") or {"reason": "the answer was not graded"}
    # Another search cannot help an answer whose form no check can confirm; another wording can.
    return ("form" if grade["reason"].startswith(UNVERIFIABLE) else "relevance"), grade["reason"]


async def retry(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    if state.get("retry_action") == "stop":  # a grader found nothing another attempt could change
        return {"trace": note("stop", state.get("stop_reason", ""))}
    spent = exhausted(state, config)
    if spent:
        return {"retry_action": "stop", "stop_reason": spent, "trace": note("stop", spent)}
    failed, reason = _failure(state)
    if failed != "relevance" or state.get("rewrites", 0) >= config.policy.max_rewrites:
        return {"retry_action": "regenerate", "feedback": reason,
                "trace": note("regenerate", f"{failed} check failed: {reason}")}
    reply = await call_model(config.grader, config, rewrite_messages(asked(state), reason),
                             schema=RewrittenQuestion, max_tokens=60, run=state)
    query = reply.parsed.question.strip() if reply.parsed else ""
    update = {"usage": reply.usage, "rewrites": state.get("rewrites", 0) + 1}
    if query and not content_words(query) & content_words(asked(state)):
        # Seen from the embedded model: the failure reason returned as the "question". A search for it finds
        # nothing; another wording of the answer still may.
        return update | {"retry_action": "regenerate", "feedback": reason,
                         "trace": note("regenerate", f"rewrite discarded: {query!r} shares no word with the question; "
                                                     f"{failed} check failed: {reason}")}
    earlier = state.get("queries", [])
    if not query:
        why = f"the rewrite failed ({reply.error})"
        return update | {"retry_action": "stop", "stop_reason": why, "trace": note("stop", why)}
    repeated = near_duplicate(query, earlier, config.policy.loop_similarity)
    if repeated:
        # Seen from the embedded model: it often cannot reword a short question. The rewrite budget bounds this.
        return update | {"retry_action": "rewrite", "query": repeated, "queries": earlier + [repeated], "feedback": "",
                         "trace": note("search deeper", f"the rewritten question repeats an earlier query; its next "
                                                        f"passages are searched. Answer check failed: {reason}",
                                       query=query)}
    return update | {"retry_action": "rewrite", "query": query, "queries": earlier + [query], "feedback": "",
                     "trace": note("rewrite", f"answer did not address the question: {reason}", query=query)}
