"""Scale-out cache backend on a real Redis server, shared by every replica.

Plain Redis commands only, so it runs on any Redis >= 6 (no search module needed; Debian's
redis-server and most managed services lack one): the exact tier is one key per entry with
Redis's own TTL; the semantic tier keeps a hash of float32 vectors per scope and scores
them with numpy. Brute force is a few ms for thousands of entries per scope; far beyond
that, RedisVL's SemanticCache on a search-enabled Redis (Stack / 8.x) is the next step.
"""

from __future__ import annotations

import json
from typing import Callable

import numpy as np
import redis

from vetted_rag.cache.base import AnswerCache, CacheHit, threshold_for
from vetted_rag.graph.configuration import Configuration


class RedisAnswerCache(AnswerCache):
    backend = "redis"

    def __init__(self, config: Configuration) -> None:
        if not config.redis_url:
            raise ValueError("cache_backend 'redis' needs redis_url (VETTED_RAG_REDIS_URL)")
        super().__init__(config)
        self._redis = redis.Redis.from_url(config.redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = f"vetted-rag:cache:{config.tenant}"

    def _vectors_key(self, scope: str) -> str:
        return f"{self._prefix}:vectors:{scope}"

    def _entry(self, key: str) -> dict | None:
        raw = self._redis.get(f"{self._prefix}:entry:{key}")
        return json.loads(raw) if raw else None

    def _find(self, scope: str, key: str, vector: Callable[[], list[float]]) -> CacheHit | None:
        exact = self._entry(key)
        if exact:
            return CacheHit.of("exact", 1.0, exact)
        stored = self._redis.hgetall(self._vectors_key(scope))
        if not stored:
            return None
        keys = [k.decode() for k in stored]
        matrix = np.vstack([np.frombuffer(v, dtype=np.float32) for v in stored.values()])
        scores = matrix @ np.asarray(vector(), dtype=np.float32)  # L2-normalised vectors: dot = cosine
        best = int(np.argmax(scores))
        if float(scores[best]) < threshold_for(self.config):
            return None
        entry = self._entry(keys[best])
        if entry is None:  # expired: drop its vector too
            self._redis.hdel(self._vectors_key(scope), keys[best])
            return None
        return CacheHit.of("semantic", float(scores[best]), entry)

    def _put(self, scope: str, key: str, entry: dict, vector: list[float]) -> None:
        ttl = int(self.config.cache_ttl_s)
        with self._redis.pipeline() as pipe:
            pipe.set(f"{self._prefix}:entry:{key}", json.dumps(entry), ex=ttl)
            pipe.hset(self._vectors_key(scope), key, np.asarray(vector, dtype=np.float32).tobytes())
            pipe.expire(self._vectors_key(scope), ttl)
            pipe.execute()

    def _add_counts(self, increments: dict[str, float]) -> None:
        with self._redis.pipeline() as pipe:
            for name, value in increments.items():
                if value:
                    pipe.hincrbyfloat(f"{self._prefix}:stats", name, float(value))
            pipe.execute()

    def _read_counts(self) -> dict[str, float]:
        return {k.decode(): float(v) for k, v in self._redis.hgetall(f"{self._prefix}:stats").items()}

    def _clear(self) -> int:
        keys = list(self._redis.scan_iter(match=f"{self._prefix}:entry:*")) + \
            list(self._redis.scan_iter(match=f"{self._prefix}:vectors:*"))
        if keys:
            self._redis.delete(*keys)
        return sum(1 for k in keys if b":entry:" in k)

    def _entries(self) -> int:
        return sum(1 for _ in self._redis.scan_iter(match=f"{self._prefix}:entry:*"))
