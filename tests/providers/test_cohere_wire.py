"""Cohere on the wire: the real `cohere` SDK and `langchain-cohere`, pointed by `model_base_url` at a
loopback stand-in of the v2 chat API (tests/providers/cohere_standin.py), through the whole agent.

Each case ends as the README says: transient failures (429, 5xx, timeouts) retried with backoff,
permanent ones a clear `error`, malformed grader output a failed grade — never a traceback — with
tokens and cost counted from the usage the API reported. Every request the SDK sends is checked
against the API reference; any drift fails the test.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.conftest import serve
from tests.providers.cohere_standin import CohereStandIn, error, text, tool_call
from vetted_rag import Agent, Configuration
from vetted_rag.providers.pricing import PRICES_PER_MILLION

QUESTION = "How do I set a cost budget?"
ANSWER = "Set the max_cost_usd field of the run policy to set a cost budget [1]."
GROUNDED = tool_call("GradeHallucination", {"binary_score": "yes", "reason": "every claim is in passage 1"})
ANSWERS = tool_call("GradeAnswer", {"binary_score": "yes", "reason": "it says how to set a cost budget"})
FAST = {"retry_initial_interval_s": 0.01}


@pytest.fixture
def cohere(data_dir, monkeypatch):
    """(stand-in, make_agent): the stand-in serves on loopback for the test's duration."""
    standin = CohereStandIn()
    monkeypatch.setenv("COHERE_API_KEY", standin.api_key)
    with serve(standin.app) as url:
        standin.url = url
        def make(model: str = "command-a-03-2025", **policy) -> Agent:
            config = Configuration(chat_model=f"cohere:{model}", model_base_url=url, data_dir=str(data_dir),
                                   cache_enabled=False)
            return Agent(replace(config, policy=replace(config.policy, **policy)))

        yield standin, make
    assert standin.violations == [], standin.violations  # the SDK's requests match the API reference


def reported_tokens(standin: CohereStandIn) -> int:
    """What the stand-in reported as `usage.tokens` over all successful replies (its prompt count is
    word-based, so recompute it from the recorded requests the way the stand-in did)."""
    import json

    total = 0
    for body, reply in zip(standin.requests, standin.replies):
        if reply.status == 200 and not reply.delay_s:
            prompt = sum(len(json.dumps(m.get("content", "")).split()) for m in body["messages"])
            output = reply.tool[1] if reply.tool else reply.text or ""
            total += prompt + 20 + len(output.split())
    return total


def test_an_answer_with_citations_graded_by_cohere(cohere):
    standin, make = cohere
    standin.script = [text(ANSWER), GROUNDED, ANSWERS]
    result = make().ask(QUESTION)
    assert result.status == "answered" and result.answer == ANSWER
    assert result.citations and result.citations[0]["source"].endswith("run-budgets.md")
    assert [g["reason"] for g in result.grades] == ["grader: every claim is in passage 1",
                                                     "grader: it says how to set a cost budget"]
    generate, *graders = standin.requests
    assert generate["model"] == "command-a-03-2025" and generate["max_tokens"] == 120 and "tools" not in generate
    assert [g["tools"][0]["function"]["name"] for g in graders] == ["GradeHallucination", "GradeAnswer"]
    # Tokens and cost from the usage Cohere reported, priced from the table.
    assert result.usage["calls"] == 3 and result.usage["total_tokens"] == reported_tokens(standin)
    price_in, price_out = PRICES_PER_MILLION["command-a-03-2025"]
    assert result.cost_usd == pytest.approx((result.usage["input_tokens"] * price_in
                                             + result.usage["output_tokens"] * price_out) / 1e6)


def test_429_with_retry_after_is_retried_after_the_wait_it_asked_for(cohere):
    standin, make = cohere
    standin.script = [error(429, "rate limit exceeded", **{"Retry-After": "1"}), text(ANSWER), GROUNDED, ANSWERS]
    result = make(**FAST).ask(QUESTION)
    assert result.status == "answered"
    assert len(standin.requests) == 4  # one retry: the SDK's own hidden retries are off
    retry = next(e for e in result.trace if e["decision"] == "retry")
    assert retry["node"] == "generate" and "HTTP 429" in retry["reason"] and "rate limit exceeded" in retry["reason"]
    assert float(retry["reason"].split("retrying in ")[1].split("s")[0]) >= 1.0  # Retry-After, not the 0.01 s backoff


def test_5xx_then_success(cohere):
    standin, make = cohere
    standin.script = [error(503, "service unavailable"), error(500, "internal server error"), text(ANSWER),
                      GROUNDED, ANSWERS]
    result = make(max_retries=2, **FAST).ask(QUESTION)
    assert result.status == "answered" and len(standin.requests) == 5
    assert [e["decision"] for e in result.trace if e["node"] == "generate"] == [
        "provider_error", "retry", "provider_error", "retry", "answered"]


def test_a_hanging_api_times_out_retries_then_ends_as_an_error(cohere):
    standin, make = cohere
    standin.script = [text(ANSWER, delay_s=5.0)]
    result = make(llm_timeout_s=0.5, max_retries=1, **FAST).ask(QUESTION)
    assert result.status == "error" and "timed out after 0.5s" in result.stop_reason and result.answer is None
    assert len(standin.requests) == 2


def test_a_malformed_tool_call_is_a_failed_grade_not_a_crash(cohere):
    standin, make = cohere
    standin.script = [text(ANSWER), tool_call("GradeHallucination", '{"binary_score": "yes", "reason": '),
                      tool_call("GradeHallucination", {"binary_score": "maybe"})]
    result = make(max_iterations=1).ask(QUESTION)
    assert result.status == "unverified" and result.answer is None
    grade = result.grades[0]
    assert grade["grader"] == "hallucination" and grade["binary_score"] == "no"
    assert "malformed output after 2 tries" in grade["reason"]


def test_401_is_not_retried_and_ends_as_a_clear_error(cohere):
    standin, make = cohere
    standin.script = [error(401, "invalid api token")]
    result = make(**FAST).ask(QUESTION)
    assert result.status == "error" and result.answer is None
    assert "HTTP 401" in result.stop_reason and "invalid api token" in result.stop_reason
    assert len(standin.requests) == 1


def test_the_standin_catches_a_request_that_drifts_from_the_reference(cohere):
    # What langchain-cohere 0.6's json_schema mode sends: `response_format.schema` instead of `json_schema`.
    import cohere as sdk

    standin, _ = cohere
    client = sdk.ClientV2(api_key=standin.api_key, base_url=standin.url)
    with pytest.raises(sdk.BadRequestError):
        client.chat(model="command-a-03-2025", messages=[{"role": "user", "content": "hi"}],
                    response_format={"type": "json_object", "schema": {"type": "object"}},
                    request_options={"max_retries": 0})
    assert standin.violations == ["response_format field(s) ['schema'] (the v2 reference names the schema "
                                  "'json_schema')"]
    standin.violations.clear()
