"""Scale-out: the same graph against Chroma in client-server mode (chromadb's own `chroma run` server)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import GOOD_ANSWER, YES


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen([str(binary), "run", "--path", str(tmp_path_factory.mktemp("chroma-server")),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(url + "/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("chroma run did not start")
    yield url
    proc.terminate()
    proc.wait(10)


def test_graph_runs_against_a_chroma_server(scripted, chroma_url, tmp_path):
    agent, _ = scripted({"text": [GOOD_ANSWER], "GradeHallucination": [YES], "GradeAnswer": [YES]},
                        chroma_url=chroma_url, cache_enabled=True, data_dir=str(tmp_path / "local"))
    first = agent.ask("How do I set a cost budget?")  # seeds the sample into the server's collection
    assert first.status == "answered" and first.citations[0]["source"].endswith("run-budgets.md")
    second = agent.ask("How do I set a cost budget?")
    assert second.cache["hit"]  # the answer cache lives on the server too
    assert not (tmp_path / "local" / "chroma").exists()  # nothing went to the local disk store
