"""Logs are JSON lines per node event with the run id, and never contain secrets; hosted tracing is optional."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import sys
import types

import pytest

from tests.conftest import GOOD_ANSWER, YES
from vetted_rag import Agent
from vetted_rag.observability import JsonFormatter, log

FAKE_KEY = "Zx9fAKEcohereKEY0123456789abcdefghijKLMN"


def test_json_logs_one_line_per_node_event_without_secrets(scripted, monkeypatch):
    monkeypatch.setenv("COHERE_API_KEY", FAKE_KEY)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    monkeypatch.setattr(log, "handlers", [handler])
    monkeypatch.setattr(log, "propagate", False)
    log.setLevel("INFO")
    agent, _ = scripted({"text": [GOOD_ANSWER], "GradeHallucination": [YES], "GradeAnswer": [YES]})
    result = agent.ask(f"How do I set a cost budget? my key is {FAKE_KEY} and mail bob@example.com")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    events = [line for line in lines if line.get("run_id") == result.run_id]
    assert [e["node"] for e in events] == [e["node"] for e in result.trace]
    text = stream.getvalue()
    assert FAKE_KEY not in text and "bob@example.com" not in text and "[SECRET]" in text


def test_langfuse_is_optional_and_attached_when_configured(scripted, monkeypatch):
    monkeypatch.setitem(sys.modules, "langfuse", None)
    agent, _ = scripted({"text": [GOOD_ANSWER]})
    with pytest.raises(ValueError, match="langfuse package is not installed"):
        Agent(agent.config.__class__(**{**agent.config.__dict__, "langfuse": True}))

    from langchain_core.callbacks import BaseCallbackHandler

    seen: list[str] = []

    class FakeLangfuseHandler(BaseCallbackHandler):
        def on_chain_start(self, serialized, inputs, **kwargs):
            seen.append(kwargs.get("name") or "")

    fake = types.ModuleType("langfuse.langchain")
    fake.CallbackHandler = FakeLangfuseHandler
    monkeypatch.setitem(sys.modules, "langfuse", types.ModuleType("langfuse"))
    monkeypatch.setitem(sys.modules, "langfuse.langchain", fake)
    agent, _ = scripted({"text": [GOOD_ANSWER], "GradeHallucination": [YES], "GradeAnswer": [YES]}, langfuse=True)
    agent.ask("How do I set a cost budget?")
    assert {"retrieve", "generate", "grade_answer"} <= set(seen)


def test_trace_retention_prunes_old_runs(tmp_path):
    import time as clock

    from vetted_rag.observability import SqliteTraceStore

    store = SqliteTraceStore(tmp_path / "t.sqlite", retention_days=1)
    store.save({"run_id": "old", "status": "answered", "question": "q", "trace": []})
    store._db.execute("UPDATE runs SET created = ? WHERE run_id = 'old'", (clock.time() - 2 * 86400,))
    store.save({"run_id": "new", "status": "answered", "question": "q", "trace": []})
    assert store.get("old") is not None  # saves prune at most once a minute: the first save just did
    store.prune()
    assert store.get("old") is None and store.get("new") is not None


def test_concurrent_saves_are_each_committed_once_and_failures_reach_their_callers(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from vetted_rag.observability import SqliteTraceStore

    store = SqliteTraceStore(tmp_path / "t.sqlite")
    runs = [{"run_id": f"r{i}", "status": "answered", "question": f"q{i} from bob@example.com", "trace": []}
            for i in range(200)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(store.save, runs))  # each returns once its run is committed
    assert len(store.recent(500)) == 200
    assert store.get("r7")["question"] == "q7 from [EMAIL]"

    def broken(sql, rows):
        raise sqlite3.OperationalError("disk I/O error")

    store._execute_many = broken
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        store.save({"run_id": "lost", "status": "answered", "question": "q", "trace": []})
