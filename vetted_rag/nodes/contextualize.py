"""contextualize: in a thread, turn a follow-up into a standalone question before the cache
lookup and retrieval (LangChain's history-aware retriever pattern). "And a token budget?"
after a question about cost budgets must not retrieve, answer or hit the cache as itself."""

from __future__ import annotations

from langgraph.runtime import Runtime

from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import State
from vetted_rag.nodes import configuration, note
from vetted_rag.nodes.schemas import RewrittenQuestion
from vetted_rag.prompts import contextualize_messages
from vetted_rag.providers import call_model
from vetted_rag.security.screening import screen_question

CONTEXTUALIZE_MAX_TOKENS = 60


async def contextualize(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    question, history = state["question"], state.get("history") or []
    if not history:
        return {"standalone": question, "trace": note("as asked", "no earlier turns in this thread")}
    reply = await call_model(config.grader, config, contextualize_messages(question, history),
                             schema=RewrittenQuestion, max_tokens=CONTEXTUALIZE_MAX_TOKENS, run=state)
    standalone = reply.parsed.question.strip() if reply.parsed else ""
    problem = (f"the rewrite failed ({reply.error})" if not standalone
               else screen_question(standalone, config.max_question_chars))
    if problem:
        return {"standalone": question, "usage": reply.usage,
                "trace": note("as asked", f"{problem}; the question is used as asked", rewrite=standalone)}
    return {"standalone": standalone, "query": standalone, "queries": [standalone], "usage": reply.usage,
            "trace": note("rewritten", f"follow-up rewritten from {len(history[-3:])} earlier turn(s)",
                          question=question, standalone=standalone)}
