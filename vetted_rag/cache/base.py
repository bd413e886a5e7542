"""The answer cache's contract and shared logic: exact tier (hash of the normalised question), then semantic tier.

Entries are scoped so a hit can never come from another world: knowledge-base fingerprint,
collection, tenant, chat and grader model, prompt version and embedding model are hashed
into the scope. Ingest changes the fingerprint, which invalidates by construction. Only
`answered` runs are stored (see `nodes/cache_store.py`). Questions are stored redacted.
Any storage fault degrades to a miss with a warning.
"""

from __future__ import annotations

import hashlib
import logging
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable

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
# while letting rewordings reach the rule (bench/cache_equivalence.py: 0.70).
DEFAULT_THRESHOLDS = {"minilm": 0.70}
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

    @classmethod
    def of(cls, kind: str, similarity: float, entry: dict) -> CacheHit:
        return cls(kind, similarity, entry["question"], entry["answer"], entry["passages"], entry["grades"],
                   float(entry.get("cost_usd", 0.0)), int(entry.get("tokens", 0)))


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


class AnswerCache(ABC):
    """Scoping, redaction, counting and the rule that a broken cache never fails a run.
    Backends only find and put entries."""

    backend = ""

    COUNTERS = ("exact_hits", "semantic_hits", "misses", "stored", "tokens_saved", "cost_saved_usd")

    def __init__(self, config: Configuration) -> None:
        self.config = config
        self.last_warning = ""

    @property
    def _embed(self) -> Embeddings:  # loaded on first use: an exact hit needs no embedding
        return load_embeddings(self.config.embedding_model)

    @abstractmethod
    def _find(self, scope: str, key: str, vector: Callable[[], list[float]]) -> CacheHit | None:
        """The live entry at `key`, else the nearest in `scope` at or above the threshold."""

    @abstractmethod
    def _put(self, scope: str, key: str, entry: dict, vector: list[float]) -> None: ...

    @abstractmethod
    def clear(self) -> int: ...

    @abstractmethod
    def _entries(self) -> int: ...

    @abstractmethod
    def _add_counts(self, increments: dict[str, float]) -> None:
        """Add to the persisted counters (shared by every process using this store)."""

    @abstractmethod
    def _read_counts(self) -> dict[str, float]: ...

    def _count(self, **increments: float) -> None:
        try:
            self._add_counts(increments)
        except Exception as exc:  # noqa: BLE001 - statistics never fail a run
            log.warning("cache statistics not recorded: %s", exc)

    def lookup(self, question: str) -> CacheHit | None:
        self.last_warning = ""
        try:
            scope = scope_of(self.config)
            hit = self._find(scope, entry_key(scope, question), lambda: self._embed.embed_query(redact(question)))
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
                     "cost_usd": float(usage.get("cost_usd", 0.0)), "tokens": int(usage.get("total_tokens", 0))}
            self._put(scope, entry_key(scope, question), entry, self._embed.embed_query(clean))
        except Exception as exc:  # noqa: BLE001
            self._degrade("store", exc)
            return False
        self._count(stored=1)
        return True

    def stats(self) -> dict:
        counts = {name: 0 for name in self.COUNTERS} | self._read_counts()
        return {"backend": self.backend, "entries": self._entries(),
                **{k: (round(v, 6) if k == "cost_saved_usd" else int(v)) for k, v in counts.items()}}

    def _degrade(self, action: str, exc: Exception) -> None:
        self.last_warning = f"cache {action} failed, treated as a miss: {type(exc).__name__}: {exc}"
        log.warning(self.last_warning)
