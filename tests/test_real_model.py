"""End to end on the real embedded default (Qwen2.5-Coder-1.5B GGUF) and MiniLM embeddings, sample knowledge base."""

import pytest

from vetted_rag import Agent, Configuration

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def agent(sample_dir):
    return Agent(Configuration(chat_model="embedded", data_dir=str(sample_dir), cache_enabled=False))


def show(result) -> str:
    return (f"status={result.status} attempts={result.iterations} tokens={result.usage.get('total_tokens')}\n"
            f"answer={result.answer!r} reason={result.stop_reason!r}\n"
            + "\n".join(f"  {e['node']:<20}{e['duration_ms']:>8.0f} ms {e['decision']:<10} {e['reason'][:100]}"
                        for e in result.trace))


def test_newcomer_question_is_answered_correctly_with_a_citation(agent):
    result = agent.ask("How do I set a cost budget?")
    print(show(result))
    nodes = [e["node"] for e in result.trace]
    assert nodes[:5] == ["prepare", "contextualize", "cache_lookup", "retrieve", "generate"]
    assert nodes[-2:] == ["finalize", "cache_store"]
    assert result.usage["total_tokens"] > 0 and result.usage["cost_usd"] == 0.0
    assert result.status == "answered" and "max_cost_usd" in result.answer
    assert result.citations and result.citations[0]["source"].endswith("run-budgets.md")


def test_unanswerable_question_is_not_answered(agent):
    result = agent.ask("Which GPU does vetted-rag need?")
    print(show(result))
    assert result.status != "answered" and result.stop_reason and result.answer is None


def test_readme_follow_up_in_a_thread(agent):
    """The README's example: the follow-up is rewritten from the thread before retrieval."""
    first = agent.ask("How do I set a cost budget?", thread_id="readme-follow-up")
    second = agent.ask("And a token budget?", thread_id="readme-follow-up")
    print(show(second))
    step = next(e for e in second.trace if e["node"] == "contextualize")
    assert first.status == "answered" and step["decision"] == "rewritten"
    assert "token" in step["details"]["standalone"].lower()
    # Answered, it is about the token budget (max_total_tokens, or its 50,000 default), not the cost one.
    assert second.status != "answered" or ("token" in second.answer and "max_cost_usd" not in second.answer)
    assert second.answer != first.answer


async def test_cancelled_generation_stops_the_model():
    """A caller that gives up (wall clock, node timeout) stops llama.cpp at its next token:
    no worker keeps the model busy. A 2,000-token generation would hold it for minutes."""
    import asyncio

    from vetted_rag.providers import load_chat_model

    model = load_chat_model("embedded", Configuration())
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(model.ainvoke("Write a very long story about dragons.", max_tokens=2000), 0.5)
    for _ in range(100):  # released within a few tokens; 10 s is the generous bound
        if not model._lock.locked():
            break
        await asyncio.sleep(0.1)
    assert not model._lock.locked()
    reply = await model.ainvoke("Say hello.", max_tokens=5)
    assert reply.usage_metadata["output_tokens"] <= 5
    assert reply.response_metadata["finish_reason"] == "length"  # cut off at the limit: the checks see it
