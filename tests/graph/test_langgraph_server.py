"""The exported graph on `langgraph dev` (offline, no LangSmith key), driven by langgraph-sdk."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client

from tests import services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dev_server(sample_dir, tmp_path_factory):
    data = tmp_path_factory.mktemp("lg-data")
    shutil.copytree(sample_dir, data, dirs_exist_ok=True)
    log_path = tmp_path_factory.mktemp("lg-log") / "dev.log"  # outside the project: the reloader watches it
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANGSMITH") and not k.startswith("LANGCHAIN")}
    env |= {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "VETTED_RAG_DATA_DIR": str(data),
            "VETTED_RAG_CHAT_MODEL": "heuristic", "VETTED_RAG_CACHE_ENABLED": "false"}
    port = services.free_port()
    with log_path.open("w") as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "langgraph"), "dev", "--no-browser", "--no-reload",
                                 "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", log_path.read_text())
        found = re.search(r"API: (http://127\.0\.0\.1:\d+)", plain)
        if found:
            try:
                if httpx.get(found.group(1) + "/ok", timeout=2).status_code == 200:
                    url = found.group(1)
                    break
            except httpx.HTTPError:
                pass
        time.sleep(0.5)
    if url is None:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("langgraph dev did not start:\n" + log_path.read_text()[-3000:])
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


async def test_run_through_the_sdk(dev_server):
    client = get_client(url=dev_server)
    output = await client.runs.wait(None, "vetted_rag", input={"question": "How do I set a cost budget?"},
                                    context={"top_k": 3, "policy": {"max_iterations": 2}})
    assert output["status"] in {"answered", "unverified"} and output["run_id"], output["trace"]
    assert [e["node"] for e in output["trace"]][:4] == ["prepare", "contextualize", "cache_lookup", "retrieve"]
    assert output["iterations"] <= 2


async def test_context_schema_is_documented_for_studio(dev_server):
    client = get_client(url=dev_server)
    assistant = (await client.assistants.search(graph_id="vetted_rag"))[0]
    schemas = await client.assistants.get_schemas(assistant["assistant_id"])
    context = schemas["context_schema"]["properties"]
    assert context["top_k"]["description"] and "policy" in context
    assert not {"data_dir", "chroma_url", "postgres_url", "redis_url", "tenant", "auth_required", "chat_model"} & set(context)
    assert set(schemas["input_schema"]["properties"]) >= {"question"}


@pytest.mark.parametrize("field,value", [("data_dir", "elsewhere"), ("tenant", "other"), ("auth_required", False),
                                         ("postgres_url", "postgresql://x@127.0.0.1/y")])
async def test_a_context_cannot_choose_storage_tenant_or_auth(dev_server, tmp_path, field, value):
    client = get_client(url=dev_server)
    value = str(tmp_path / value) if field == "data_dir" else value
    # LangGraph Server drops context keys that are not in the graph's context schema (langgraph_api
    # `_filter_context_by_schema`), so these never reach the run; called directly, the graph refuses
    # them (tests/graph/test_context.py).
    output = await client.runs.wait(None, "vetted_rag", input={"question": "How do I set a cost budget?"},
                                    context={field: value, "top_k": 2})
    assert output["status"] == "answered", output["stop_reason"]  # served from the deployment's knowledge base
    assert len([e for e in output["trace"] if e["node"] == "retrieve"][0]["details"]["passages"]) <= 2
    assert not any(tmp_path.iterdir())  # nothing written where the caller pointed
    assert not any(tmp_path.iterdir())  # nothing written where the caller pointed


async def test_a_context_cannot_raise_a_limit(dev_server):
    client = get_client(url=dev_server)
    output = await client.runs.wait(None, "vetted_rag", input={"question": "How do I set a cost budget?"},
                                    context={"policy": {"max_iterations": 50, "max_total_tokens": 50}})
    assert output["status"] == "unverified" and output["stop_reason"].startswith("token budget")
    assert output["iterations"] <= 3  # the deployment's 3, not the requested 50


async def test_bad_input_is_a_run_outcome_not_a_crash(dev_server):
    client = get_client(url=dev_server)
    output = await client.runs.wait(None, "vetted_rag", input={"question": ""})
    assert output["status"] == "refused" and output["stop_reason"] == "the question is empty"
