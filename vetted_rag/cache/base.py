"""The answer cache's contract and shared logic: exact tier (hash of the normalised question), then semantic tier.

Entries are scoped so a hit can never come from another world: knowledge-base fingerprint,
collection, tenant, chat and grader model, prompt version and embedding model are hashed
into the scope. Ingest changes the fingerprint, which invalidates by construction. Only
`answered` runs are stored (see `nodes/cache_store.py`). Questions are stored redacted.
Any storage fault degrades to a miss with a warning.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import math
import re
import threading
import time
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace

import numpy as np
from langchain_core.embeddings import Embeddings

from vetted_rag.graph.configuration import Configuration
from vetted_rag.knowledge.embeddings import load_embeddings
from vetted_rag.knowledge.store import open_knowledge_base
from vetted_rag.prompts import PROMPT_VERSION
from vetted_rag.security.redaction import redact

log = logging.getLogger("vetted_rag.cache")

# Cosine threshold per embedding model. No threshold separates hard negatives ("list to string"
# vs "string to list": 0.996), so the equivalence rule in nodes/cache_lookup.py keeps them out and
# the threshold only needs to keep unrelated questions away (MiniLM: unrelated pairs at most 0.45)
# while letting rewordings reach the rule (bench/cache_equivalence.py: 0.60 lets the most paraphrases of the
# dev pairs through, with 0 false hits at every threshold from 0.60 to 0.85).
DEFAULT_THRESHOLDS = {"minilm": 0.60, "minilm-q8": 0.60}
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
    tokens: int
    expires_at: float  # wall-clock time

    @classmethod
    def of(cls, kind: str, similarity: float, entry: dict) -> CacheHit:
        return cls(kind, similarity, entry["question"], entry["answer"], entry["passages"], entry["grades"],
                   float(entry.get("cost_usd", 0.0)), int(entry.get("tokens", 0)),
                   float(entry.get("expires_at", math.inf)))


def normalise(question: str) -> str:
    return re.sub(r"[^\w\s]", "", " ".join(question.lower().split())).strip()


def scope_of(config: Configuration) -> str:
    fingerprint = open_knowledge_base(config).fingerprint
    parts = [fingerprint, config.collection, config.tenant, config.chat_model, config.grader, PROMPT_VERSION,
             config.embedding_model, config.cache_embedding_model]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def entry_key(scope: str, redacted_question: str) -> str:
    """Exact-tier key: the scope and the normalised, redacted question (no raw PII in keys)."""
    return hashlib.sha256(f"{scope}\n{normalise(redacted_question)}".encode()).hexdigest()[:32]


def threshold_for(config: Configuration) -> float:
    if config.cache_similarity_threshold is not None:
        return config.cache_similarity_threshold
    return DEFAULT_THRESHOLDS.get(config.cache_embedding_model, FALLBACK_THRESHOLD)


_OPEN: weakref.WeakSet[AnswerCache] = weakref.WeakSet()


@atexit.register
def flush_all_counts() -> None:
    """Write every open cache's pending counts now (at exit; before a test wipes a shared store)."""
    for cache in list(_OPEN):
        cache.flush_counts()


class AnswerCache(ABC):
    """Scoping, redaction, counting and the rule that a broken cache never fails a run.
    Backends only find and put entries."""

    backend = ""

    COUNTERS = ("exact_hits", "semantic_hits", "misses", "stored", "tokens_saved", "cost_saved_usd")

    LOCAL_ENTRIES = 1024  # bound on exact-tier entries held in memory
    INDEX_ENTRIES = 20_000  # a scope's vectors held in memory up to this many (30 MB at 384 dimensions)
    COUNTS_FLUSH_S = 1.0

    def __init__(self, config: Configuration) -> None:
        self.config = config
        self.last_warning = ""
        # Exact-tier entries this process read or wrote (None: read as absent), each trusted for
        # `cache_coherence_s`: a hot question is then answered without a round trip to the shared store
        # (bench/hit_path.py).
        self._local: dict[str, tuple[float, CacheHit | None]] = {}
        self._index: dict[str, tuple[float, list[str], np.ndarray]] = {}  # scope -> (until, keys, vectors)
        self._local_lock = threading.Lock()
        self._pending: dict[str, float] = {}
        self._pending_lock = threading.Lock()
        self._flush_timer: threading.Timer | None = None
        _OPEN.add(self)

    @property
    def _embed(self) -> Embeddings:  # loaded on first use: an exact hit needs no embedding
        return load_embeddings(self.config.cache_embedding_model)

    @abstractmethod
    def _get(self, key: str) -> dict | None:
        """The live entry stored at `key`."""

    @abstractmethod
    def _scope_vectors(self, scope: str, limit: int) -> tuple[list[str], np.ndarray] | None:
        """Keys and vectors (one row each) of the live entries in `scope`; None when there are more than `limit`."""

    @abstractmethod
    def _search(self, scope: str, vector: list[float]) -> tuple[str, float] | None:
        """The nearest live entry in `scope` and its cosine, by the store's own search (a scope too large to hold)."""

    @abstractmethod
    def _drop(self, scope: str, key: str) -> None:
        """Forget an expired entry's vector."""

    @abstractmethod
    def _put(self, scope: str, key: str, entry: dict, vector: list[float]) -> None: ...

    @abstractmethod
    def _clear(self) -> int: ...

    @abstractmethod
    def _entries(self) -> int: ...

    @abstractmethod
    def _add_counts(self, increments: dict[str, float]) -> None:
        """Add to the persisted counters (shared by every process using this store)."""

    @abstractmethod
    def _read_counts(self) -> dict[str, float]: ...

    def _count(self, **increments: float) -> None:
        """Add to the counters. Writes are batched, one per `COUNTS_FLUSH_S` at most: a write per lookup
        took 8 % of the server's time under exact-hit load (bench/hit_path.py). Pending counts are written
        by a timer, before `stats()` and at exit, so another process sees them within that time."""
        with self._pending_lock:
            for name, value in increments.items():
                self._pending[name] = self._pending.get(name, 0.0) + value
            if self._flush_timer is None:
                self._flush_timer = threading.Timer(self.COUNTS_FLUSH_S, self.flush_counts)
                self._flush_timer.daemon = True
                self._flush_timer.start()

    def flush_counts(self) -> None:
        """Write the pending counts now."""
        with self._pending_lock:
            pending, self._pending = self._pending, {}
            if self._flush_timer is not None:
                self._flush_timer.cancel()
                self._flush_timer = None
        if any(pending.values()):
            try:
                self._add_counts(pending)
            except Exception as exc:  # noqa: BLE001 - statistics never fail a run
                log.warning("cache statistics not recorded: %s", exc)

    def lookup(self, question: str) -> CacheHit | None:
        self.last_warning = ""
        try:
            scope = scope_of(self.config)
            clean = redact(question)
            hit = self._exact(entry_key(scope, clean)) or self._nearest(scope, self._embed.embed_query(clean))
        except Exception as exc:  # noqa: BLE001 - a broken or unreachable cache must never fail a run
            self._degrade("lookup", exc)
            hit = None
        if hit is None:
            self._count(misses=1)
        else:
            self._count(**{f"{hit.kind}_hits": 1, "tokens_saved": hit.tokens, "cost_saved_usd": hit.cost_usd})
        return hit

    def store(self, question: str, answer: str, passages: list[dict], grades: list[dict], usage: dict) -> bool:
        """Keep a vetted answer with what producing it cost (reported as saved on later hits)."""
        try:
            scope = scope_of(self.config)
            clean = redact(question)
            entry = {"question": clean, "answer": answer, "passages": passages, "grades": grades,
                     "cost_usd": float(usage.get("cost_usd", 0.0)), "tokens": int(usage.get("total_tokens", 0)),
                     "expires_at": time.time() + self.config.cache_ttl_s}
            key, vector = entry_key(scope, clean), self._embed.embed_query(clean)
            self._put(scope, key, entry, vector)
            self._hold(key, CacheHit.of("exact", 1.0, entry))
            self._hold_vector(scope, key, vector)
        except Exception as exc:  # noqa: BLE001
            self._degrade("store", exc)
            return False
        self._count(stored=1)
        return True

    def clear(self) -> int:
        """Delete every entry; returns how many."""
        with self._local_lock:
            self._local.clear()
            self._index.clear()
        return self._clear()

    def _exact(self, key: str) -> CacheHit | None:
        """The live entry at `key`: held in memory, else read from the store (and then held). An absence
        is held too: a paraphrase asked again within `cache_coherence_s` goes straight to the semantic tier."""
        held = self._local.get(key)
        if held and held[0] > time.monotonic() and (held[1] is None or held[1].expires_at > time.time()):
            return held[1]
        entry = self._get(key)
        hit = CacheHit.of("exact", 1.0, entry) if entry is not None else None
        self._hold(key, hit)
        return hit

    def _nearest(self, scope: str, vector: list[float]) -> CacheHit | None:
        """The most similar live entry in `scope`, if at or above the threshold. A scope of up to
        `INDEX_ENTRIES` entries is searched in its vectors held in memory (numpy, exact): Chroma's
        query cost 1.2 ms a question at any size and was most of a semantic hit (bench/hit_path.py)."""
        index = self._held_index(scope)
        if index is None:
            found = self._search(scope, vector)
            if not found or found[1] < threshold_for(self.config):
                return None
            hit = self._exact(found[0])
            return replace(hit, kind="semantic", similarity=found[1]) if hit else None
        keys, matrix = index
        query = np.asarray(vector, dtype=np.float32)
        scores = matrix @ (query / max(float(np.linalg.norm(query)), 1e-12)) if keys else np.zeros(0)
        for best in np.argsort(-scores):
            if scores[best] < threshold_for(self.config):
                return None
            hit = self._exact(keys[best])
            if hit is not None:
                return replace(hit, kind="semantic", similarity=float(scores[best]))
            self._drop(scope, keys[best])  # expired: the next nearest may still be live
        return None

    def _held_index(self, scope: str) -> tuple[list[str], np.ndarray] | None:
        """The scope's keys and vectors, read at most once per `cache_coherence_s`; None when too many to hold."""
        held = self._index.get(scope)
        if held and held[0] > time.monotonic():
            return held[1], held[2]
        stored = self._scope_vectors(scope, self.INDEX_ENTRIES)
        if stored is None:
            return None
        keys, matrix = stored
        matrix = matrix / np.clip(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12, None)  # any model's vectors
        if self.config.cache_coherence_s > 0:
            with self._local_lock:
                self._index[scope] = (time.monotonic() + self.config.cache_coherence_s, keys, matrix)
        return keys, matrix

    def _hold_vector(self, scope: str, key: str, vector: list[float]) -> None:
        """This process's own store is searchable at once, without waiting for the index to be re-read."""
        with self._local_lock:
            held = self._index.get(scope)
            if held and key not in held[1]:
                row = np.asarray(vector, dtype=np.float32)[None, :]
                self._index[scope] = (held[0], held[1] + [key], np.vstack([held[2], row]) if held[1] else row)

    def _hold(self, key: str, hit: CacheHit | None) -> None:
        if self.config.cache_coherence_s <= 0:
            return
        now = time.monotonic()
        with self._local_lock:
            if len(self._local) >= self.LOCAL_ENTRIES:
                self._local = {k: v for k, v in self._local.items() if v[0] > now}
                if len(self._local) >= self.LOCAL_ENTRIES:
                    self._local.clear()
            self._local[key] = (now + self.config.cache_coherence_s, hit)

    def stats(self) -> dict:
        self.flush_counts()
        counts = {name: 0 for name in self.COUNTERS} | self._read_counts()
        return {"backend": self.backend, "entries": self._entries(),
                **{k: (round(v, 6) if k == "cost_saved_usd" else int(v)) for k, v in counts.items()}}

    def _degrade(self, action: str, exc: Exception) -> None:
        self.last_warning = f"cache {action} failed, treated as a miss: {type(exc).__name__}: {exc}"
        log.warning(self.last_warning)
