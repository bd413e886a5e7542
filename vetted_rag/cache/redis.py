"""Scale-out cache backend on a real Redis server, shared by every replica.

Plain Redis commands only, so it runs on any Redis >= 6 (no search module needed; Debian's
redis-server and most managed services lack one): the exact tier is one key per entry with
Redis's own TTL; the semantic tier keeps a hash of float32 vectors per scope and scores
them with numpy. Brute force is a few ms for thousands of entries per scope; far beyond
that, RedisVL's SemanticCache on a search-enabled Redis (Stack / 8.x) is the next step.
"""

from __future__ import annotations

import json

import numpy as np
import redis

from vetted_rag.cache.base import AnswerCache
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

    def _get(self, key: str) -> dict | None:
        raw = self._redis.get(f"{self._prefix}:entry:{key}")
        return json.loads(raw) if raw else None

    def _scope_vectors(self, scope: str, limit: int) -> tuple[list[str], np.ndarray] | None:
        if self._redis.hlen(self._vectors_key(scope)) > limit:
            return None
        return self._all_vectors(scope)

    def _all_vectors(self, scope: str) -> tuple[list[str], np.ndarray]:
        stored = self._redis.hgetall(self._vectors_key(scope))
        if not stored:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [k.decode() for k in stored], np.vstack([np.frombuffer(v, dtype=np.float32) for v in stored.values()])

    def _search(self, scope: str, vector: list[float]) -> tuple[str, float] | None:
        keys, matrix = self._all_vectors(scope)  # brute force: no search module needed (see the module docstring)
        if not keys:
            return None
        scores = matrix @ np.asarray(vector, dtype=np.float32)  # L2-normalised vectors: dot = cosine
        best = int(np.argmax(scores))
        return keys[best], float(scores[best])

    def _drop(self, scope: str, key: str) -> None:
        self._redis.hdel(self._vectors_key(scope), key)

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
