"""The embedded cache backend: a Chroma collection of its own beside the knowledge base."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import numpy as np

from vetted_rag.cache.base import AnswerCache
from vetted_rag.graph.configuration import Configuration
from vetted_rag.knowledge.store import chroma_client


class ChromaAnswerCache(AnswerCache):
    """The embedded backend: a Chroma collection of its own beside the knowledge base."""

    backend = "chroma"

    def __init__(self, config: Configuration) -> None:
        super().__init__(config)
        client = chroma_client(str(config.data_path), config.chroma_url)
        self._collection = client.get_or_create_collection(
            f"answer-cache-{config.tenant}", embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
        # Writes and the statistics connection are locked; reads are not (as in the knowledge base):
        # one lock around lookups serialised every hit behind the others (bench/hit_path.py).
        self._write_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        config.data_path.mkdir(parents=True, exist_ok=True)
        self._stats = sqlite3.connect(str(config.data_path / "cache_stats.sqlite"), check_same_thread=False,
                                      isolation_level=None)
        # Counters are statistics: WAL without an fsync per lookup (it cost ~35 ms per hit, under the lock).
        self._stats.execute("PRAGMA journal_mode=WAL")
        self._stats.execute("PRAGMA synchronous=NORMAL")
        self._stats.execute("CREATE TABLE IF NOT EXISTS counts (tenant TEXT, name TEXT, value REAL, "
                            "PRIMARY KEY (tenant, name))")

    def _add_counts(self, increments: dict[str, float]) -> None:
        with self._stats_lock:
            self._stats.executemany(
                "INSERT INTO counts VALUES (?, ?, ?) ON CONFLICT (tenant, name) DO UPDATE SET value = value + excluded.value",
                [(self.config.tenant, name, float(value)) for name, value in increments.items() if value])

    def _read_counts(self) -> dict[str, float]:
        with self._stats_lock:
            rows = self._stats.execute("SELECT name, value FROM counts WHERE tenant = ?", (self.config.tenant,)).fetchall()
        return dict(rows)

    @staticmethod
    def _live(meta: dict) -> dict | None:
        if float(meta["expires_at"]) < time.time():
            return None
        return {**meta, "passages": json.loads(meta["passages"]), "grades": json.loads(meta["grades"])}

    def _get(self, key: str) -> dict | None:
        found = self._collection.get(ids=[key], include=["metadatas"])
        return self._live(found["metadatas"][0]) if found["ids"] else None

    def _scope_vectors(self, scope: str, limit: int) -> tuple[list[str], np.ndarray] | None:
        live = {"$and": [{"scope": scope}, {"expires_at": {"$gt": time.time()}}]}
        keys = self._collection.get(where=live, include=[], limit=limit + 1)["ids"]
        if len(keys) > limit:
            return None
        if not keys:
            return [], np.zeros((0, 0), dtype=np.float32)
        found = self._collection.get(ids=keys, include=["embeddings"])
        return list(found["ids"]), np.asarray(found["embeddings"], dtype=np.float32)

    def _search(self, scope: str, vector: list[float]) -> tuple[str, float] | None:
        found = self._collection.query(query_embeddings=[vector], n_results=1, where={"scope": scope},
                                       include=["distances"])
        if not (found["ids"] and found["ids"][0]):
            return None
        return found["ids"][0][0], 1.0 - float(found["distances"][0][0])

    def _drop(self, scope: str, key: str) -> None:
        with self._write_lock:
            self._collection.delete(ids=[key])

    def _put(self, scope: str, key: str, entry: dict, vector: list[float]) -> None:
        meta = {**entry, "scope": scope, "passages": json.dumps(entry["passages"]), "grades": json.dumps(entry["grades"])}
        with self._write_lock:
            self._collection.upsert(ids=[key], embeddings=[vector], documents=[entry["question"]], metadatas=[meta])

    def _clear(self) -> int:
        with self._write_lock:
            ids = self._collection.get(include=[])["ids"]
            if ids:
                self._collection.delete(ids=ids)
        return len(ids)

    def _entries(self) -> int:
        return self._collection.count()
