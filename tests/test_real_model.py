"""End to end on the real embedded model (SmolLM2-135M GGUF) and MiniLM embeddings, sample knowledge base."""

import pytest

from vetted_rag import Agent, Configuration

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def agent(sample_dir):
    return Agent(Configuration(chat_model="embedded", data_dir=str(sample_dir), cache_enabled=False))


def test_answerable_question_end_to_end(agent):
    result = agent.ask("How do I set a cost budget?")
    nodes = [e["node"] for e in result.trace]
    print(f"status={result.status} attempts={result.iterations} tokens={result.usage.get('total_tokens')}\n"
          f"answer={result.answer!r}\n" + "\n".join(f"  {e['node']:<20}{e['duration_ms']:>8.0f} ms {e['decision']}"
                                                     for e in result.trace))
    assert nodes[:4] == ["prepare", "cache_lookup", "retrieve", "generate"] and nodes[-2:] == ["finalize", "cache_store"]
    assert result.usage["total_tokens"] > 0 and result.usage["cost_usd"] == 0.0
    assert result.status in {"answered", "unverified"}
    if result.status == "answered":
        assert result.citations and all(g["binary_score"] == "yes" for g in result.grades[-2:])
    else:
        assert result.stop_reason


def test_unanswerable_question_is_not_answered(agent):
    result = agent.ask("What is the capital of Australia?")
    assert result.status != "answered" and result.stop_reason


async def test_cancelled_generation_stops_the_model():
    """A caller that gives up (wall clock, node timeout) stops llama.cpp at its next token:
    no worker keeps the model busy. A 2,000-token generation would hold it for ~20 s."""
    import asyncio

    from vetted_rag.providers import load_chat_model

    model = load_chat_model("embedded", Configuration())
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(model.ainvoke("Write a very long story about dragons.", max_tokens=2000), 0.5)
    for _ in range(50):  # released within a few tokens; 5 s is the generous bound
        if not model._lock.locked():
            break
        await asyncio.sleep(0.1)
    assert not model._lock.locked()
    reply = await model.ainvoke("Say hello.", max_tokens=5)
    assert reply.usage_metadata["output_tokens"] <= 5
