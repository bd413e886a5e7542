"""Every way a run can end under its policy is a clean status, never an exception."""

from __future__ import annotations

import time

import pytest

from tests.conftest import GOOD_ANSWER, NO, YES
from vetted_rag import Configuration, RunPolicy
from vetted_rag.observability import trace_store
from vetted_rag.providers import ProviderError, TransientProviderError
from vetted_rag.providers.scripted import HANG

QUESTION = "How do I set a cost budget?"
FAST_RETRY = {"retry_initial_interval_s": 0.01}


def test_hanging_model_is_stopped_at_the_wall_clock_limit(scripted):
    agent, model = scripted({"text": [HANG]}, policy={"max_execution_time_s": 1.0, "llm_timeout_s": 30.0})
    started = time.monotonic()
    result = agent.ask(QUESTION)
    assert result.status == "unverified" and "wall-clock limit of 1s" in result.stop_reason
    assert model.count("text") == 1  # stopped, not retried
    assert time.monotonic() - started < 15  # generous: only proves it did not wait for llm_timeout_s
    assert [e["node"] for e in result.trace][:4] == ["prepare", "contextualize", "cache_lookup", "retrieve"]
    assert result.trace[-1]["node"] == "run" and result.trace[-1]["decision"] == "stop"


def test_per_call_timeout_is_retried_then_an_error(scripted):
    agent, model = scripted({"text": [HANG]}, policy={"llm_timeout_s": 0.2, "max_retries": 1, **FAST_RETRY})
    result = agent.ask(QUESTION)
    assert result.status == "error" and "generate failed" in result.stop_reason
    assert model.count("text") == 2  # first attempt + one retry


def test_transient_failures_twice_then_success(scripted):
    flaky = [TransientProviderError("429 too many requests"), TransientProviderError("503"), GOOD_ANSWER]
    agent, model = scripted({"text": flaky, "GradeHallucination": [YES], "GradeAnswer": [YES]},
                            policy={"max_retries": 2, **FAST_RETRY})
    result = agent.ask(QUESTION)
    assert result.status == "answered" and model.count("text") == 3 and result.iterations == 1


def test_permanent_failure_is_an_error_with_the_providers_message(scripted):
    agent, model = scripted({"text": [ProviderError("401 invalid api key")]}, policy=FAST_RETRY)
    result = agent.ask(QUESTION)
    assert result.status == "error" and "401 invalid api key" in result.stop_reason
    assert model.count("text") == 1  # a permanent error is not retried
    assert result.answer is None
    stored = trace_store(agent.config).get(result.run_id)  # error runs keep a complete, ordered trace too
    assert [(e["node"], e["decision"]) for e in stored["trace"]][3:] == [
        ("retrieve", "found"), ("generate", "provider_error"), ("generate", "error"), ("finalize", "error"),
        ("cache_store", "skip")]
    starts = [e["started_at"] for e in stored["trace"]]
    assert starts == sorted(starts)


def test_an_identical_rewrite_searches_the_same_querys_next_passages(scripted):
    """The same search cannot find anything new, so a rewrite that repeats the query goes deeper: the
    next top_k passages of its ranking. The rewrite budget and the repeated-answer check still end it."""
    agent, model = scripted({"text": [GOOD_ANSWER, "To set a cost budget use max_cost_usd [1]."],
                             "GradeHallucination": [YES], "GradeAnswer": [NO],
                             "RewrittenQuestion": [{"question": "How do I set a cost budget?"}]},
                            policy={"max_iterations": 5, "max_rewrites": 3}, top_k=2)
    result = agent.ask(QUESTION)
    assert result.status == "unverified" and "loop detected" in result.stop_reason
    first, deeper = [e for e in result.trace if e["node"] == "retrieve"]
    assert "after the first 2 of this query" in deeper["reason"]
    assert {p["id"] for p in deeper["details"]["passages"]}.isdisjoint(p["id"] for p in first["details"]["passages"])
    assert next(e["decision"] for e in result.trace if e["node"] == "retry") == "search deeper"
    assert model.count("text") == 3  # the third answer repeats the second: a loop, not five attempts


def test_a_deeper_search_that_finds_nothing_new_ends_the_run(scripted, tmp_path):
    from vetted_rag.knowledge.store import SourceDocument, open_knowledge_base

    agent, model = scripted({"text": [GOOD_ANSWER], "GradeHallucination": [YES], "GradeAnswer": [NO],
                             "RewrittenQuestion": [{"question": QUESTION}]},
                            policy={"max_iterations": 5, "max_rewrites": 3}, data_dir=str(tmp_path), seed_sample=False)
    open_knowledge_base(agent.config).add_document(
        SourceDocument("budget.md", "Budgets", "Set a cost budget with the max_cost_usd field of the run policy."))
    result = agent.ask(QUESTION)
    assert result.status == "unverified" and model.count("text") == 1
    assert result.stop_reason == ("loop detected: the rewritten question repeats an earlier query, and no further "
                                  "passage is relevant")


def test_repeated_answer_is_detected_as_a_loop(scripted):
    agent, model = scripted({"text": [GOOD_ANSWER], "GradeHallucination": [NO]}, policy={"max_iterations": 5})
    result = agent.ask(QUESTION)
    assert "loop detected" in result.stop_reason and model.count("text") == 2


def test_with_quotes_on_a_repeated_ungrounded_answer_is_first_replaced_by_its_passage_sentence(scripted):
    """Once that quote has been graded too, the next repeat ends the run."""
    agent, model = scripted({"text": [GOOD_ANSWER], "GradeHallucination": [NO]},
                            policy={"max_iterations": 5, "quote_repeated_answer": True})
    result = agent.ask(QUESTION)
    assert "loop detected" in result.stop_reason and model.count("text") == 3
    assert [e["decision"] for e in result.trace if e["node"] == "generate"] == ["answered", "quoted", "loop"]


def test_token_budget_stops_with_counted_totals(scripted):
    answers = ["A cost budget is set in the run policy [1].", "Export VETTED_RAG_MAX_COST_USD before asking [1].",
               "Pass --max-cost-usd to the ask command [1]."]
    agent, model = scripted({"text": answers, "GradeHallucination": [NO]},
                            policy={"max_iterations": 10, "max_total_tokens": 1500})
    result = agent.ask(QUESTION)
    assert result.status == "unverified" and result.stop_reason.startswith("token budget")
    assert 0 < result.usage["total_tokens"] and result.usage["calls"] == len(model.calls)  # every call counted
    assert model.count("text") < 10


def test_a_call_the_budget_cannot_cover_is_not_made(scripted):
    # The README's probe: `ask --max-total-tokens 50` used to come back `answered` with 511 tokens.
    agent, model = scripted({"text": [GOOD_ANSWER], "GradeHallucination": [YES], "GradeAnswer": [YES]},
                            policy={"max_total_tokens": 50})
    result = agent.ask(QUESTION)
    assert result.status == "unverified" and result.answer is None
    assert result.stop_reason.startswith("token budget: the next model call needs about")
    assert model.calls == [] and result.usage.get("total_tokens", 0) == 0
    assert [e["decision"] for e in result.trace if e["node"] == "generate"] == ["stop"]


def test_an_attempt_that_crosses_the_budget_is_never_answered(scripted):
    script = {"text": [GOOD_ANSWER], "GradeHallucination": [YES], "GradeAnswer": [YES]}
    agent, _ = scripted(script)
    spent = agent.ask(QUESTION)
    assert spent.status == "answered"
    budget = spent.usage["total_tokens"] - 1  # the last grader call crosses it
    agent, model = scripted(script, policy={"max_total_tokens": budget})
    result = agent.ask(QUESTION)
    assert result.status == "unverified" and result.answer is None and "token budget" in result.stop_reason
    if result.stop_reason.startswith("token budget spent"):  # the call was made: its tokens are counted
        assert result.usage["total_tokens"] == spent.usage["total_tokens"]
        assert f"{spent.usage['total_tokens']} of {budget}" in result.stop_reason


def test_per_run_timeout_and_retries_apply(scripted):
    # Both used to be frozen into the compiled graph: a per-run 0.2 s still waited for the configured limit.
    agent, model = scripted({"text": [HANG]}, policy={"llm_timeout_s": 30.0, "max_retries": 3, **FAST_RETRY})
    started = time.monotonic()
    result = agent.ask(QUESTION, policy={"llm_timeout_s": 0.2, "max_retries": 0})
    assert result.status == "error" and "timed out after 0.2s" in result.stop_reason
    assert model.count("text") == 1 and time.monotonic() - started < 20
    decisions = [e["decision"] for e in result.trace if e["node"] == "generate"]
    assert decisions == ["timeout", "error"]


def test_retries_are_trace_events_and_metrics(scripted):
    from prometheus_client import REGISTRY

    def count(event: str) -> float:
        return REGISTRY.get_sample_value("vetted_rag_limit_events_total", {"node": "generate", "event": event}) or 0.0

    before = count("retry")
    flaky = [TransientProviderError("503 unavailable"), GOOD_ANSWER]
    agent, model = scripted({"text": flaky, "GradeHallucination": [YES], "GradeAnswer": [YES]},
                            policy={"max_retries": 1, **FAST_RETRY})
    result = agent.ask(QUESTION)
    assert result.status == "answered"
    generate = [e for e in result.trace if e["node"] == "generate"]
    assert [e["decision"] for e in generate] == ["provider_error", "retry", "answered"]
    assert "503 unavailable" in generate[1]["reason"] and count("retry") == before + 1


def test_cost_budget_uses_the_price_table(scripted):
    answers = ["A cost budget is set in the run policy [1].", "Export VETTED_RAG_MAX_COST_USD before asking [1].",
               "Pass --max-cost-usd to the ask command [1]."]
    agent, model = scripted({"text": answers, "GradeHallucination": [NO]},
                            prices_per_million={"scripted": [1000.0, 1000.0]},
                            policy={"max_iterations": 10, "max_cost_usd": 1.5})
    result = agent.ask(QUESTION)
    assert result.status == "unverified" and result.stop_reason.startswith("cost budget")
    assert 0 < result.usage["cost_usd"] and model.count("text") < 10
    expected = result.usage["total_tokens"] * 1000.0 / 1_000_000
    assert result.usage["cost_usd"] == pytest.approx(expected)


def test_recursion_limit_lower_than_the_budget_needs(scripted):
    agent, model = scripted({"text": [GOOD_ANSWER], "GradeHallucination": [YES], "GradeAnswer": [YES]},
                            policy={"recursion_limit": 6})
    result = agent.ask(QUESTION)
    assert result.status == "unverified" and "recursion limit of 6" in result.stop_reason
    assert model.calls == []


def test_recursion_limit_reached_mid_run_is_a_status(scripted):
    answers = ["A cost budget is set in the run policy [1].", "Export VETTED_RAG_MAX_COST_USD before asking [1].",
               "Pass --max-cost-usd to the ask command [1].", "Budgets stop runs early [1]."]
    agent, model = scripted({"text": answers, "GradeHallucination": [NO]},
                            policy={"max_iterations": 10, "recursion_limit": 19})
    result = agent.ask(QUESTION)
    assert result.status == "unverified" and "recursion limit" in result.stop_reason
    assert model.count("text") < 10


def test_recursion_limit_is_derived_from_the_iteration_budget():
    assert RunPolicy(max_iterations=3).effective_recursion_limit == 25
    assert RunPolicy(max_iterations=3, recursion_limit=50).effective_recursion_limit == 50


def test_a_request_can_only_lower_the_policy():
    config = Configuration(policy=RunPolicy(max_iterations=3, max_cost_usd=1.0))
    lowered = config.with_policy(max_iterations=10, max_cost_usd=0.1, max_total_tokens=100)
    assert lowered.policy.max_iterations == 3 and lowered.policy.max_cost_usd == 0.1
    assert lowered.policy.max_total_tokens == 100
    with pytest.raises(ValueError, match="'unknown' cannot be set per run"):
        config.with_policy(unknown=5)


def test_policy_from_environment():
    config = Configuration.from_env({"VETTED_RAG_MAX_ITERATIONS": "2", "VETTED_RAG_MAX_COST_USD": "0.5",
                                     "VETTED_RAG_RECURSION_LIMIT": "none", "VETTED_RAG_CACHE_ENABLED": "off"})
    assert config.policy.max_iterations == 2 and config.policy.max_cost_usd == 0.5
    assert config.policy.recursion_limit is None and config.cache_enabled is False
    with pytest.raises(ValueError, match="VETTED_RAG_MAX_ITERATIONS"):
        Configuration.from_env({"VETTED_RAG_MAX_ITERATIONS": "many"})


def test_runtime_context_layers_over_the_environment():
    from vetted_rag.nodes import configuration

    class Runtime:
        context = {"top_k": 2, "policy": {"max_iterations": 1}}

    import os
    os.environ["VETTED_RAG_CACHE_ENABLED"] = "false"
    try:
        config = configuration(Runtime())
    finally:
        del os.environ["VETTED_RAG_CACHE_ENABLED"]
    assert config.top_k == 2 and config.policy.max_iterations == 1 and config.cache_enabled is False


async def test_abandoning_the_stream_stops_the_run(scripted):
    agent, model = scripted({"text": [HANG]}, policy={"max_execution_time_s": 60.0, "llm_timeout_s": 60.0})
    stream = agent.astream(QUESTION)
    async for event in stream:
        if event.get("node") == "retrieve":
            break
    await stream.aclose()  # the caller gives up, e.g. an HTTP client disconnects
    import asyncio
    await asyncio.sleep(0.2)
    assert model.count("text") <= 1
    tasks = [t for t in asyncio.all_tasks() if "_bounded" in repr(t.get_coro())]
    assert all(t.done() for t in tasks)


def test_invalid_choices_are_rejected_with_a_clear_error():
    with pytest.raises(ValueError, match="cache_backend must be one of"):
        Configuration.from_env({"VETTED_RAG_CACHE_BACKEND": "memcached"})
    with pytest.raises(ValueError, match="grading must be one of"):
        Configuration(grading="vibes")


def test_a_run_stopped_by_the_wall_clock_reports_the_attempts_it_made(scripted):
    # Used to say "after 0 graded attempts" while the trace showed them.
    agent, model = scripted({"text": ["Set it in the policy [1].", HANG], "GradeHallucination": [NO]},
                            policy={"max_execution_time_s": 2.0, "max_iterations": 5})
    result = agent.ask(QUESTION)
    assert result.status == "unverified" and "wall-clock limit" in result.stop_reason
    assert result.iterations == 1 == len([e for e in result.trace if e["node"] == "generate"
                                          and e["decision"] == "answered"])
