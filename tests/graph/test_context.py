"""The graph's context schema is what one run may choose; deployment settings are not in it."""

from __future__ import annotations

import pytest

from vetted_rag.graph.configuration import Configuration, Context, RunPolicy


def test_a_context_naming_a_deployment_setting_is_refused():
    for field in ("data_dir", "chroma_url", "postgres_url", "redis_url", "tenant", "auth_required", "chat_model"):
        with pytest.raises(TypeError, match=field):
            Context(**{field: "x"})


async def test_the_compiled_graph_refuses_such_a_context(tmp_path):
    from vetted_rag.graph.graph import graph

    with pytest.raises(TypeError, match="data_dir"):
        await graph.ainvoke({"question": "How do I set a cost budget?"}, context={"data_dir": str(tmp_path / "x")})
    assert not (tmp_path / "x").exists()


def test_a_context_only_lowers_limits_and_the_answer_cap():
    deployed = Configuration(max_answer_tokens=120, policy=RunPolicy(max_iterations=3, max_total_tokens=1000))
    run = deployed.for_run(Context(top_k=2, max_answer_tokens=500, use_cache=False,
                                   policy={"max_iterations": 10, "max_total_tokens": 200, "llm_timeout_s": 5}))
    assert run.top_k == 2 and run.max_answer_tokens == 120 and run.cache_enabled is False
    assert run.policy.max_iterations == 3 and run.policy.max_total_tokens == 200 and run.policy.llm_timeout_s == 5
    assert run.data_dir == deployed.data_dir and run.tenant == deployed.tenant


@pytest.mark.parametrize("context,field", [
    ({"policy": {"return_unverified_answer": True}}, "return_unverified_answer"),
    ({"policy": {"max_cost_usd": -1}}, "max_cost_usd"),
    ({"policy": {"max_retries": "many"}}, "max_retries"),
    ({"top_k": 0}, "top_k"),
    ({"relevance_threshold": 2.0}, "relevance_threshold"),
    ({"grading": "vibes"}, "grading"),
])
def test_invalid_context_values_are_refused_naming_the_field(context, field):
    with pytest.raises(ValueError, match=field):
        Context(**context)
