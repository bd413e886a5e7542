"""The load benchmark's scenario, small, in CI: two `vetted-rag serve` replicas sharing Redis, PostgreSQL
and a Chroma server under a mixed workload. Correctness only (no timings): no 5xx, every accepted run
stored exactly once, an answer stored by one replica is a hit on the other, one rate limit for both."""

from __future__ import annotations

import pytest

from bench.load import scenario
from tests import services


def test_two_replicas_under_a_mixed_workload():
    questions = ["How do I run the HTTP server?", "How do I clear the cache?", "How do I add my own documents?",
                 "How long are cache entries kept?"]
    try:
        report = scenario(2, questions, hits=24, model_env={"VETTED_RAG_CHAT_MODEL": "heuristic"})
    except services.Unavailable as exc:
        pytest.skip(str(exc))
    checks = report["checks"]
    assert checks["problems"] == [], checks
    assert checks["accepted_runs"] == checks["stored_traces"] > len(questions)
    kinds = report["by_kind"]
    assert kinds["hit"]["run_statuses"] == {"answered": 24 + 2}
    assert kinds["malformed"]["statuses"] == {"400": 2, "422": 2} and kinds["over_limit"]["statuses"] == {"422": 2}
    assert report["status_5xx_other"] == 0
