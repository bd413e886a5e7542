"""The OpenAI-compatible path for real: `vetted-rag model-server` (llama.cpp's own HTTP server on the
packaged GGUF) on loopback, used as `openai:<model>` with `model_base_url` through langchain-openai
and the OpenAI SDK, with LLM graders (`combined` grading) — the way users reach Ollama, llama.cpp
or vLLM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vetted_rag import Agent, Configuration

MODEL = "openai:qwen2.5-coder-1.5b"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def model_server():
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "vetted-rag"), "model-server", "--port", str(port),
                             "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("model-server did not start: " + (proc.stdout.read().decode()[-2000:] if proc.stdout else ""))
    yield url + "/v1"
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


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
    config = Configuration(chat_model=MODEL, model_base_url=f"http://127.0.0.1:{free_port()}/v1",
                           data_dir=str(data_dir), cache_enabled=False)
    result = Agent(config.with_policy(max_retries=1)).ask("How do I set a cost budget?")
    assert result.status == "error" and "ConnectionError" in result.stop_reason and result.answer is None
    assert [e["decision"] for e in result.trace if e["node"] == "generate"] == [
        "provider_error", "retry", "provider_error", "error"]
