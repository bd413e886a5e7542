"""The OpenAI-compatible path for real: `vetted-rag model-server` (llama.cpp's own HTTP server on the
packaged GGUF) on loopback, used as `openai:<model>` with `model_base_url` through langchain-openai
and the OpenAI SDK, with LLM graders (`combined` grading) — the way users reach Ollama, llama.cpp
or vLLM."""

from __future__ import annotations

import pytest

from tests import services
from vetted_rag import Agent, Configuration

MODEL = "openai:qwen2.5-coder-1.5b"


@pytest.fixture(scope="module")
def model_server():
    with services.model_server("--threads", "1") as base_url:
        yield base_url


def test_graded_answer_through_the_openai_compatible_server(model_server, data_dir):
    config = Configuration(chat_model=MODEL, model_base_url=model_server, grading="combined",
                           data_dir=str(data_dir), cache_enabled=False)
    result = Agent(config).ask("How do I set a cost budget?")
    trace = "\n".join(f"{e['node']}: {e['decision']} {e['reason'][:120]}" for e in result.trace)
    assert result.status == "answered", trace
    assert "max_cost_usd" in result.answer and result.citations[0]["source"].endswith("run-budgets.md")
    # Both grades came from the LLM grader over HTTP (after the deterministic checks passed).
    assert [g["reason"].split(":")[0] for g in result.grades] == ["grader", "grader"], trace
    assert result.usage["calls"] == 3 and result.usage["input_tokens"] > 100 and result.usage["cost_usd"] == 0.0


def test_a_server_that_is_down_is_retried_then_a_clear_error(data_dir):
    config = Configuration(chat_model=MODEL, model_base_url=f"http://127.0.0.1:{services.free_port()}/v1",
                           data_dir=str(data_dir), cache_enabled=False)
    result = Agent(config.with_policy(max_retries=1)).ask("How do I set a cost budget?")
    assert result.status == "error" and "ConnectionError" in result.stop_reason and result.answer is None
    assert [e["decision"] for e in result.trace if e["node"] == "generate"] == [
        "provider_error", "retry", "provider_error", "error"]
