"""Scale-out: two replicas share threads (LangGraph's Postgres checkpointer) and stored traces
through a real PostgreSQL server started by the test setup."""

from __future__ import annotations

import os

from tests.conftest import YES
from vetted_rag import Agent
from vetted_rag.observability import trace_store
from vetted_rag.providers.scripted import extractive_answer, heuristic_rewrite


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def test_replicas_share_threads_and_traces(scripted, postgres_url):
    replica_a, model = scripted({"text": extractive_answer, "GradeHallucination": [YES], "GradeAnswer": [YES],
                                 "RewrittenQuestion": heuristic_rewrite}, postgres_url=postgres_url)
    replica_b = Agent(replica_a.config)  # a second process in production: nothing shared but Postgres
    local = replica_a.config.data_path / "checkpoints.sqlite"
    before = local.stat().st_mtime_ns if local.exists() else None
    first = replica_a.ask("How do I set a cost budget?", thread_id="shared-thread")
    second = replica_b.ask("And how do I set a cost budget again?", thread_id="shared-thread")
    assert first.status == second.status == "answered"
    rewrite = [m for kind, m in model.calls if kind == "RewrittenQuestion"][-1][-1].content
    assert "Follow-up question:" in rewrite and "How do I set a cost budget?" in rewrite  # history read from Postgres
    for run in (first, second):
        stored = trace_store(replica_b.config).get(run.run_id)
        assert stored["status"] == "answered" and [e["node"] for e in stored["trace"]] == [e["node"] for e in run.trace]
    assert (local.stat().st_mtime_ns if local.exists() else None) == before  # threads went to Postgres only
