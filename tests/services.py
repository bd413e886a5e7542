"""Real engines on loopback for tests and benchmarks: Redis, PostgreSQL, a Chroma server and
`vetted-rag serve` replicas — each a context manager that starts the process on a free port,
waits until it answers and stops it afterwards. A missing engine raises `Unavailable` naming
what to install (tests turn that into a skip that says why)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


class Unavailable(RuntimeError):
    """The engine's binaries are not installed here."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(ready, what: str, proc: subprocess.Popen | None = None, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            if ready():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {seconds:g}s")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise Unavailable("redis-server is not installed (make test installs Debian's redis-server when run as root)")
    port, workdir = free_port(), tempfile.mkdtemp(prefix="vr-redis-")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait(lambda: redis.Redis.from_url(url).ping(), "redis-server", proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise Unavailable("PostgreSQL server binaries are not installed (make test installs Debian's postgresql "
                          "when run as root)")
    bindir = os.path.dirname(found[-1])
    root = tempfile.mkdtemp(prefix="vr-pg-")
    if os.geteuid() == 0:
        uid = pwd.getpwnam("postgres")
        os.chown(root, uid.pw_uid, uid.pw_gid)
    port, data = free_port(), os.path.join(root, "data")
    subprocess.run(_as_postgres([f"{bindir}/initdb", "-D", data, "-U", "postgres", "--auth=trust"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(root, "log"), "-w", "-o",
                                 f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def chroma_server() -> Iterator[str]:
    port, path = free_port(), tempfile.mkdtemp(prefix="vr-chroma-")
    proc = subprocess.Popen([str(BIN / "chroma"), "run", "--path", path, "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(url + "/api/v2/heartbeat", timeout=1).status_code == 200, "chroma run", proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def model_server(*args: str) -> Iterator[str]:
    """`vetted-rag model-server` (llama.cpp's OpenAI-compatible HTTP server on the packaged GGUF);
    yields its `/v1` base URL."""
    port = free_port()
    proc = subprocess.Popen([str(BIN / "vetted-rag"), "model-server", "--port", str(port), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(url + "/health", timeout=2).status_code == 200, "vetted-rag model-server", proc, 300)
        yield url + "/v1"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


@contextlib.contextmanager
def vetted_rag_server(env: dict[str, str]) -> Iterator[str]:
    """`vetted-rag serve` as its own process (a replica), configured by VETTED_RAG_* in `env`."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="vr-serve-", suffix=".log", delete=False)
    proc = subprocess.Popen([str(BIN / "vetted-rag"), "serve", "--port", str(port)], env={**os.environ, **env},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            _wait(lambda: httpx.get(url + "/healthz", timeout=2).status_code == 200, "vetted-rag serve", proc, 180)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n{Path(log.name).read_text()[-3000:]}") from None
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        os.unlink(log.name)
