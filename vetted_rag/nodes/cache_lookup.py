"""cache_lookup: serve a vetted answer for the same or a paraphrased question, if one is cached.

A semantic hit is served only when the questions are the same question (equivalence.py: no
negation, antonym, swapped roles or different name/number between them), since hard
negatives ("list to string" vs "string to list") score above any useful threshold. Where the
rule finds no conflict but cannot match the words (a broad rewording), grading 'combined' lets
the LLM grader judge. Then the answer check (and, under 'combined', the LLM grader) confirms the
answer answers the new question.
"""

from __future__ import annotations

import asyncio

from langgraph.runtime import Runtime

from vetted_rag.cache import open_cache
from vetted_rag.cache.base import CacheHit
from vetted_rag.equivalence import same_question
from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import State, add_usage
from vetted_rag.nodes import asked, configuration, llm_verdict, note
from vetted_rag.nodes.grade_answer import relevance_verdict
from vetted_rag.nodes.schemas import SameQuestion
from vetted_rag.observability import CACHE_LOOKUPS, CACHE_SAVED_COST, CACHE_SAVED_TOKENS
from vetted_rag.prompts import same_question_messages


def _look_up(config: Configuration, question: str) -> tuple[CacheHit | None, str]:
    cache = open_cache(config)
    return cache.lookup(question), cache.last_warning


async def cache_lookup(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    if state.get("looked_up"):  # the Agent's hit path looked already and found nothing to serve
        return state["looked_up"]
    if not config.cache_enabled or state.get("no_cache"):
        return {"cache": {"hit": False, "bypassed": True}, "trace": note("bypass", "cache disabled for this run")}
    hit, warning = await asyncio.to_thread(_look_up, config, asked(state))  # one hop: both may touch the disk
    if hit is None:
        CACHE_LOOKUPS.labels(result="miss").inc()
        return {"cache": {"hit": False, "warning": warning}, "trace": note("miss", warning or "no entry")}
    update: dict = {}
    info = {"hit": True, "kind": hit.kind, "similarity": round(hit.similarity, 4), "entry_question": hit.question}
    if hit.kind == "semantic":
        # A hit is an answer released without grading: serve it only for the same question.
        same = same_question(asked(state), hit.question, hit.answer, hit.passages)
        info |= {"same_question": same.same, "equivalence": same.reason}
        if not same.same and not same.conflict and config.grading_rule == "combined":
            # Words the rule cannot match ("cap the spending" for "set a cost budget"): a grader measured to add
            # to the checks may judge them. The packaged models are not (bench/RESULTS.md), and never decide.
            score, why, update["usage"] = await llm_verdict(config, same_question_messages(asked(state), hit.question),
                                                            SameQuestion, state)
            info |= {"same_question": score == "yes", "equivalence": f"{same.reason}; {why}"}
        if not info["same_question"]:
            CACHE_LOOKUPS.labels(result="rejected").inc()
            return update | {"cache": info | {"hit": False},
                    "trace": note("rejected", f"semantic hit for another question: {same.reason}", **info)}
    if hit.kind == "semantic" and config.cache_verify_hits:
        # The kind of answer the new wording asks for (a number, a yes/no…), and the LLM grader under 'combined';
        # the tie of its words to the answer was checked for the cached question, which asks the same thing.
        score, why, spent = await relevance_verdict(config, asked(state), hit.answer, hit.passages, state, focus=False)
        update["usage"] = add_usage(update.get("usage"), spent)  # after the judge's, if it was asked
        info |= {"verified": score == "yes", "verification": why}
        if not info["verified"]:
            CACHE_LOOKUPS.labels(result="rejected").inc()
            return update | {"cache": info | {"hit": False},
                             "trace": note("rejected", f"semantic hit not confirmed by the answer grader: {info['verification']}", **info)}
    CACHE_LOOKUPS.labels(result=hit.kind).inc()
    CACHE_SAVED_TOKENS.inc(hit.tokens)
    CACHE_SAVED_COST.inc(hit.cost_usd)
    return update | {
        "status": "answered", "generation": hit.answer, "passages": hit.passages, "grades": hit.grades,
        "usage": add_usage(update.get("usage"), {"cost_saved_usd": hit.cost_usd, "tokens_saved": hit.tokens}),
        "cache": info, "trace": note("hit", f"{hit.kind} match, similarity {hit.similarity:.3f}", **info),
    }
