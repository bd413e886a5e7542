"""generate: one model call under the run's budget; a repeated answer stops the run as a loop."""

from __future__ import annotations

import itertools

import pytest
from langgraph.runtime import Runtime

from vetted_rag import Configuration, RunPolicy
from vetted_rag.nodes.generate import generate
from vetted_rag.providers import BudgetExceeded, register_chat_model
from vetted_rag.providers.scripted import ScriptedChatModel

PASSAGES = [{"id": "p", "source": "run-budgets.md", "title": "Run budgets", "chunk": 0, "score": 0.5,
             "text": "A cost budget is set with the max_cost_usd field of the run policy."}]
ANSWER = "A cost budget is set with the max_cost_usd field of the run policy [1]."
_names = itertools.count()


def runtime(replies: list, **policy) -> tuple[Runtime, ScriptedChatModel]:
    model = ScriptedChatModel(script={"text": replies})
    name = f"scripted:node-generate-{next(_names)}"
    register_chat_model(name, model)
    return Runtime(context=Configuration(chat_model=name, policy=RunPolicy(**policy))), model


def state(**extra) -> dict:
    return {"question": "How do I set a cost budget?", "passages": PASSAGES, "answers": [], "attempts": 0} | extra


async def test_an_answer_is_one_attempt_with_its_usage():
    rt, model = runtime([ANSWER])
    update = await generate(state(), rt)
    assert update["generation"] == ANSWER and update["attempts"] == 1 and update["retry_action"] is None
    assert update["usage"]["calls"] == 1 and update["usage"]["total_tokens"] > 0


async def test_a_repeated_answer_stops_as_a_loop():
    rt, _ = runtime([ANSWER])
    update = await generate(state(answers=[ANSWER], attempts=1), rt)
    assert update["retry_action"] == "stop" and "loop detected" in update["stop_reason"]


async def test_an_ungrounded_answer_written_again_is_replaced_by_the_passage_sentence_it_comes_from():
    embellished = "A cost budget is set with the max_cost_usd field of the run policy, which is checked daily [1]."
    rejected = {"grader": "hallucination", "binary_score": "no", "reason": "support check: not in the cited passages: 'checked'"}
    rt, _ = runtime([embellished], quote_repeated_answer=True)
    update = await generate(state(answers=[embellished], attempts=1, hallucination_grade=rejected), rt)
    assert update["generation"] == "A cost budget is set with the max_cost_usd field of the run policy. [1]"
    assert update["retry_action"] is None and update["trace"][0]["decision"] == "quoted"
    quote = update["generation"]
    # Off (the default), the repeat is a loop.
    rt, _ = runtime([embellished])
    update = await generate(state(answers=[embellished], attempts=1, hallucination_grade=rejected), rt)
    assert update["retry_action"] == "stop" and "loop detected" in update["stop_reason"]
    # Only once: the quote, written again, is a loop.
    rt, _ = runtime([embellished], quote_repeated_answer=True)
    update = await generate(state(answers=[embellished, quote], attempts=2, hallucination_grade=rejected), rt)
    assert update["retry_action"] == "stop" and "loop detected" in update["stop_reason"]


async def test_no_call_when_the_remaining_budget_cannot_cover_the_prompt():
    rt, model = runtime([ANSWER], max_total_tokens=100)
    with pytest.raises(BudgetExceeded, match="token budget: the next model call needs about"):
        await generate(state(usage={"total_tokens": 90}), rt)
    assert model.calls == []


async def test_a_call_that_crosses_the_budget_raises_with_its_usage():
    long_answer = " ".join([ANSWER] * 8)  # ~100 output tokens: the prompt fits, the reply crosses
    rt, model = runtime([long_answer], max_total_tokens=150)
    with pytest.raises(BudgetExceeded, match="token budget spent") as raised:
        await generate(state(), rt)
    assert len(model.calls) == 1 and raised.value.usage["total_tokens"] > 150
