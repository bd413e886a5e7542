"""Shared fixtures: a knowledge base on the shipped sample docs, and scripted models by name."""

from __future__ import annotations

import contextlib
import itertools
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests import services
from vetted_rag import Agent, Configuration
from vetted_rag.knowledge.store import open_knowledge_base
from vetted_rag.providers import register_chat_model
from vetted_rag.providers.scripted import ScriptedChatModel

_names = itertools.count()


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """A data directory whose public collection holds the sample knowledge base (ingested once)."""
    root = tmp_path_factory.mktemp("sample-data")
    kb = open_knowledge_base(Configuration(data_dir=str(root)))
    report = kb.ensure_sample()
    assert report is not None and report.added > 0 and not report.failed
    return root


@pytest.fixture
def data_dir(sample_dir, tmp_path) -> Path:
    """A private copy of the sample data directory (runs may write cache entries and traces)."""
    target = tmp_path / "data"
    shutil.copytree(sample_dir, target)
    return target


@pytest.fixture
def scripted(data_dir):
    """`scripted(script, **config) -> (Agent, model)` with the cache off unless asked for."""

    def make(script: dict, **overrides) -> tuple[Agent, ScriptedChatModel]:
        model = ScriptedChatModel(script=script)
        name = f"scripted:test-{next(_names)}"
        register_chat_model(name, model)
        policy = overrides.pop("policy", {})
        config = Configuration(**{"chat_model": name, "data_dir": str(data_dir), "cache_enabled": False, **overrides})
        if policy:  # tests may set any policy, also above the defaults
            config = replace(config, policy=replace(config.policy, **policy))
        return Agent(config), model

    return make


GOOD_ANSWER = "Set the max_cost_usd field of the run policy to set a cost budget [1]."
YES = {"binary_score": "yes", "reason": "fine"}
NO = {"binary_score": "no", "reason": "not supported"}


@contextlib.contextmanager
def serve(app):
    """Run an ASGI app on a real uvicorn server on a free loopback port; yields its base URL."""
    import uvicorn

    port = services.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def serve_directory(root: Path):
    """Static files from `root` on a free loopback port; yields the base URL. Quiet, and
    clients may hang up early (the scraper does so on oversized bodies, by design)."""
    import functools
    import http.server

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    server.handle_error = lambda request, address: None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.fixture(scope="session")
def redis_url():
    with engine(services.redis_server) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url():
    with engine(services.postgres_server) as url:
        yield url


@pytest.fixture(scope="session")
def chroma_url():
    with engine(services.chroma_server) as url:
        yield url


@contextlib.contextmanager
def engine(start):
    """A real engine for the session, or a skip that says what is missing."""
    try:
        context = start()
        url = context.__enter__()
    except services.Unavailable as exc:
        pytest.skip(str(exc))
    try:
        yield url
    finally:
        context.__exit__(None, None, None)
