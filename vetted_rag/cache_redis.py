"""Scale-out cache backend on a real Redis server, shared by every replica.

Plain Redis commands only, so it runs on any Redis >= 6 (no search module needed; Debian's
redis-server and most managed services lack one): the exact tier is one key per entry with
Redis's own TTL; the semantic tier keeps a hash of float32 vectors per scope and scores
them with numpy. Brute force is a few ms for thousands of entries per scope; far beyond
that, RedisVL's SemanticCache on a search-enabled Redis (Stack / 8.x) is the next step.
"""

from __future__ import annotations

import json
import threading

import numpy as np
import redis

from vetted_rag.cache import CacheHit, Counting, entry_key, scope_of, threshold_for
from vetted_rag.embeddings import load_embeddings
from vetted_rag.graph.configuration import Configuration
from vetted_rag.security.redaction import redact


class RedisAnswerCache(Counting):
    def __init__(self, config: Configuration) -> None:
        super().__init__()
        if not config.redis_url:
            raise ValueError("cache_backend 'redis' needs redis_url (VETTED_RAG_REDIS_URL)")
        self.config = config
        self._redis = redis.Redis.from_url(config.redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._embed = load_embeddings(config.embedding_model)
        self._prefix = f"vetted-rag:cache:{config.tenant}"
        self._lock = threading.Lock()

    def _vectors_key(self, scope: str) -> str:
        return f"{self._prefix}:vectors:{scope}"

    def _entry(self, key: str) -> dict | None:
        raw = self._redis.get(f"{self._prefix}:entry:{key}")
        return json.loads(raw) if raw else None

    def lookup(self, question: str) -> CacheHit | None:
        self.last_warning = ""
        try:
            scope = scope_of(self.config)
            exact = self._entry(entry_key(scope, question))
            if exact:
                return self._count(CacheHit("exact", 1.0, exact["question"], exact["answer"], exact["passages"],
                                            exact["grades"], exact["cost_usd"]))
            stored = self._redis.hgetall(self._vectors_key(scope))
            if not stored:
                return self._count(None)
            keys = [k.decode() for k in stored]
            matrix = np.vstack([np.frombuffer(v, dtype=np.float32) for v in stored.values()])
            query = np.asarray(self._embed.embed_query(redact(question)), dtype=np.float32)
            scores = matrix @ query  # vectors are L2-normalised: dot product = cosine
            best = int(np.argmax(scores))
            if float(scores[best]) < threshold_for(self.config):
                return self._count(None)
            entry = self._entry(keys[best])
            if entry is None:  # expired: drop its vector too
                self._redis.hdel(self._vectors_key(scope), keys[best])
                return self._count(None)
            return self._count(CacheHit("semantic", float(scores[best]), entry["question"], entry["answer"],
                                        entry["passages"], entry["grades"], entry["cost_usd"]))
        except Exception as exc:  # noqa: BLE001 - a broken or unreachable cache must never fail a run
            self._degrade("lookup", exc)
            return self._count(None)

    def store(self, question: str, answer: str, passages: list[dict], grades: list[dict], cost_usd: float) -> bool:
        try:
            scope = scope_of(self.config)
            clean = redact(question)
            key = entry_key(scope, question)
            entry = {"question": clean, "answer": answer, "passages": passages, "grades": grades,
                     "cost_usd": float(cost_usd)}
            vector = np.asarray(self._embed.embed_query(clean), dtype=np.float32).tobytes()
            ttl = int(self.config.cache_ttl_s)
            with self._redis.pipeline() as pipe:
                pipe.set(f"{self._prefix}:entry:{key}", json.dumps(entry), ex=ttl)
                pipe.hset(self._vectors_key(scope), key, vector)
                pipe.expire(self._vectors_key(scope), ttl)
                pipe.execute()
            self.counts["stored"] += 1
            return True
        except Exception as exc:  # noqa: BLE001
            self._degrade("store", exc)
            return False

    def clear(self) -> int:
        keys = list(self._redis.scan_iter(match=f"{self._prefix}:*"))
        if keys:
            self._redis.delete(*keys)
        return sum(1 for k in keys if b":entry:" in k)

    def stats(self) -> dict:
        entries = sum(1 for _ in self._redis.scan_iter(match=f"{self._prefix}:entry:*"))
        return {"backend": "redis", "entries": entries, **self.counts}
