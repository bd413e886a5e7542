"""The packaged default model: reassembled from chunk packages, hash-checked, never imported."""

from __future__ import annotations

import hashlib
import sys

import pytest

from vetted_rag.providers import packaged
from vetted_rag.providers.local_gguf import auto_threads
from vetted_rag.providers.packaged import PackagedGGUF, PackagedModelMissing, packaged_gguf


def chunked(tmp_path, monkeypatch, data: bytes, parts: int = 3, sha256: str | None = None) -> PackagedGGUF:
    """Chunk packages on sys.path whose __init__ would fail if imported."""
    size = -(-len(data) // parts)
    for n in range(1, parts + 1):
        pkg = tmp_path / "site" / f"fakechunk_part{n}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise ImportError('chunk packages must never be imported')\n")
        (pkg / "data" / f"part{n:02d}.bin").write_bytes(data[(n - 1) * size:n * size])
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("VETTED_RAG_MODEL_DIR", str(tmp_path / "models"))
    return PackagedGGUF("fake.gguf", "fakechunk_part{n}", "data/part{n:02d}.bin", parts, len(data),
                        sha256 or hashlib.sha256(data).hexdigest(), "pip install fake")


def test_reassembled_once_and_verified(tmp_path, monkeypatch):
    data = bytes(range(256)) * 1000
    model = chunked(tmp_path, monkeypatch, data)
    path = packaged_gguf(model)
    assert path.read_bytes() == data and "fakechunk_part1" not in sys.modules
    mtime = path.stat().st_mtime_ns
    assert packaged_gguf(model) == path and path.stat().st_mtime_ns == mtime  # not rebuilt


def test_a_changed_file_is_rebuilt(tmp_path, monkeypatch):
    data = b"gguf" * 5000
    model = chunked(tmp_path, monkeypatch, data)
    path = packaged_gguf(model)
    path.write_bytes(b"tampered")
    assert packaged_gguf(model).read_bytes() == data


def test_wrong_bytes_are_refused(tmp_path, monkeypatch):
    model = chunked(tmp_path, monkeypatch, b"not the model" * 100, sha256="0" * 64)
    with pytest.raises(PackagedModelMissing, match="expected 0000"):
        packaged_gguf(model)
    assert not list((tmp_path / "models").glob("*.gguf"))


def test_missing_wheels_name_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("VETTED_RAG_MODEL_DIR", str(tmp_path / "models"))
    model = PackagedGGUF("x.gguf", "no_such_chunk_{n}", "data/part{n:02d}.bin", 2, 10, "0" * 64, "pip install x")
    with pytest.raises(PackagedModelMissing, match="pip install x"):
        packaged_gguf(model)


def test_the_default_model_is_the_pinned_qwen_file():
    assert packaged.QWEN_CODER_1_5B.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert packaged.QWEN_CODER_1_5B.size == 1_117_320_768 and packaged.QWEN_CODER_1_5B.parts == 22


def test_auto_threads_is_between_one_and_the_cores():
    import os

    assert 1 <= auto_threads() <= (os.cpu_count() or 1)
