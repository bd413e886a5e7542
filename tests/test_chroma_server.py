"""Scale-out: the same graph against Chroma in client-server mode (chromadb's own `chroma run` server)."""

from __future__ import annotations

from tests.conftest import GOOD_ANSWER, YES


def test_graph_runs_against_a_chroma_server(scripted, chroma_url, tmp_path):
    agent, _ = scripted({"text": [GOOD_ANSWER], "GradeHallucination": [YES], "GradeAnswer": [YES]},
                        chroma_url=chroma_url, cache_enabled=True, data_dir=str(tmp_path / "local"))
    first = agent.ask("How do I set a cost budget?")  # seeds the sample into the server's collection
    assert first.status == "answered" and first.citations[0]["source"].endswith("run-budgets.md")
    second = agent.ask("How do I set a cost budget?")
    assert second.cache["hit"]  # the answer cache lives on the server too
    assert not (tmp_path / "local" / "chroma").exists()  # nothing went to the local disk store
