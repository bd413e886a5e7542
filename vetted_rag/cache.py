"""Semantic cache of vetted answers: exact tier (hash of the normalised question), then semantic tier.

Entries are scoped so a hit can never come from another world: knowledge-base fingerprint,
collection, tenant, chat and grader model, prompt version and embedding model are hashed
into the scope. Ingest changes the fingerprint, which invalidates by construction. Only
`answered` runs are stored (see `nodes/cache_store.py`). Questions are stored redacted.
Any storage fault degrades to a miss with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from vetted_rag.embeddings import load_embeddings
from vetted_rag.graph.configuration import Configuration
from vetted_rag.knowledge_base import chroma_client, open_knowledge_base
from vetted_rag.prompts import PROMPT_VERSION
from vetted_rag.security.redaction import redact

log = logging.getLogger("vetted_rag.cache")

# Cosine threshold per embedding model, measured with bench/cache_threshold.py on the
# paraphrase / hard-negative / unrelated set in tests/data/cache_pairs.json.
DEFAULT_THRESHOLDS = {"minilm": 0.80}
FALLBACK_THRESHOLD = 0.90


@dataclass
class CacheHit:
    kind: str  # "exact" | "semantic"
    similarity: float
    question: str
    answer: str
    passages: list[dict]
    grades: list[dict]
    cost_usd: float


def normalise(question: str) -> str:
    return re.sub(r"[^\w\s]", "", " ".join(question.lower().split())).strip()


def scope_of(config: Configuration) -> str:
    fingerprint = open_knowledge_base(config).fingerprint
    parts = [fingerprint, config.collection, config.tenant, config.chat_model, config.grader, PROMPT_VERSION,
             config.embedding_model]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def entry_key(scope: str, question: str) -> str:
    """Exact-tier key: the scope and the normalised, redacted question (no raw PII in keys)."""
    return hashlib.sha256(f"{scope}\n{normalise(redact(question))}".encode()).hexdigest()[:32]


def threshold_for(config: Configuration) -> float:
    if config.cache_similarity_threshold is not None:
        return config.cache_similarity_threshold
    return DEFAULT_THRESHOLDS.get(config.embedding_model, FALLBACK_THRESHOLD)


class AnswerCache(Protocol):
    last_warning: str

    def lookup(self, question: str) -> CacheHit | None: ...
    def store(self, question: str, answer: str, passages: list[dict], grades: list[dict], cost_usd: float) -> bool: ...
    def clear(self) -> int: ...
    def stats(self) -> dict: ...


class Counting:
    """Hit/miss/saving counters shared by the backends."""

    def __init__(self) -> None:
        self.counts = {"exact_hits": 0, "semantic_hits": 0, "misses": 0, "stored": 0, "cost_saved_usd": 0.0}
        self.last_warning = ""

    def _count(self, hit: CacheHit | None) -> CacheHit | None:
        if hit is None:
            self.counts["misses"] += 1
        else:
            self.counts[f"{hit.kind}_hits"] += 1
            self.counts["cost_saved_usd"] += hit.cost_usd
        return hit

    def _degrade(self, action: str, exc: Exception) -> None:
        self.last_warning = f"cache {action} failed, treated as a miss: {type(exc).__name__}: {exc}"
        log.warning(self.last_warning)


class ChromaAnswerCache(Counting):
    """The embedded backend: a Chroma collection of its own beside the knowledge base."""

    def __init__(self, config: Configuration) -> None:
        super().__init__()
        self.config = config
        self._embed = load_embeddings(config.embedding_model)
        client = chroma_client(str(config.data_path), config.chroma_url)
        self._collection = client.get_or_create_collection(
            f"answer-cache-{config.tenant}", embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
        self._lock = threading.Lock()

    def _hit(self, kind: str, similarity: float, meta: dict) -> CacheHit | None:
        if float(meta["expires_at"]) < time.time():
            return None
        return CacheHit(kind, similarity, str(meta["question"]), str(meta["answer"]), json.loads(meta["passages"]),
                        json.loads(meta["grades"]), float(meta.get("cost_usd", 0.0)))

    def lookup(self, question: str) -> CacheHit | None:
        self.last_warning = ""
        try:
            scope = scope_of(self.config)
            with self._lock:
                exact = self._collection.get(ids=[entry_key(scope, question)], include=["metadatas"])
                if exact["ids"]:
                    hit = self._hit("exact", 1.0, exact["metadatas"][0])
                    if hit:
                        return self._count(hit)
                if self._collection.count() == 0:
                    return self._count(None)
                vector = self._embed.embed_query(redact(question))
                found = self._collection.query(query_embeddings=[vector], n_results=1, where={"scope": scope},
                                               include=["metadatas", "distances"])
            if found["ids"] and found["ids"][0]:
                similarity = 1.0 - float(found["distances"][0][0])
                if similarity >= threshold_for(self.config):
                    return self._count(self._hit("semantic", similarity, found["metadatas"][0][0]))
            return self._count(None)
        except Exception as exc:  # noqa: BLE001 - a broken cache must never fail a run
            self._degrade("lookup", exc)
            return self._count(None)

    def store(self, question: str, answer: str, passages: list[dict], grades: list[dict], cost_usd: float) -> bool:
        try:
            scope = scope_of(self.config)
            clean = redact(question)
            meta = {"scope": scope, "question": clean, "answer": answer, "passages": json.dumps(passages),
                    "grades": json.dumps(grades), "cost_usd": float(cost_usd),
                    "expires_at": time.time() + self.config.cache_ttl_s}
            with self._lock:
                self._collection.upsert(ids=[entry_key(scope, question)], embeddings=[self._embed.embed_query(clean)],
                                        documents=[clean], metadatas=[meta])
            self.counts["stored"] += 1
            return True
        except Exception as exc:  # noqa: BLE001
            self._degrade("store", exc)
            return False

    def clear(self) -> int:
        with self._lock:
            ids = self._collection.get(include=[])["ids"]
            if ids:
                self._collection.delete(ids=ids)
        return len(ids)

    def stats(self) -> dict:
        return {"backend": "chroma", "entries": self._collection.count(), **self.counts}


_CACHES: dict[tuple, AnswerCache] = {}


def open_cache(config: Configuration) -> AnswerCache:
    key = (config.cache_backend, config.redis_url, str(config.data_path), config.chroma_url, config.tenant,
           config.collection, config.chat_model, config.grader, config.embedding_model,
           config.cache_similarity_threshold, config.cache_ttl_s)
    if key not in _CACHES:
        if config.cache_backend == "redis":
            from vetted_rag.cache_redis import RedisAnswerCache

            _CACHES[key] = RedisAnswerCache(config)
        else:
            _CACHES[key] = ChromaAnswerCache(config)
    return _CACHES[key]
