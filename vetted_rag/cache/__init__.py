"""Semantic cache of vetted answers (exact tier, then semantic tier), on Chroma or Redis.

`base` holds the contract and the scoping, `chroma` and `redis` the backends; `open_cache` is the
one way to get a cache.
"""

from __future__ import annotations

import threading

from vetted_rag.cache.base import AnswerCache
from vetted_rag.graph.configuration import Configuration

_CACHES: dict[tuple, AnswerCache] = {}
_LOCK = threading.Lock()  # concurrent first use must not build two caches for one store


def open_cache(config: Configuration) -> AnswerCache:
    """One cache per backend, store, scope and policy in this process."""
    key = (config.cache_backend, config.redis_url, str(config.data_path), config.chroma_url, config.tenant,
           config.collection, config.chat_model, config.grader, config.embedding_model, config.cache_embedding_model,
           config.cache_similarity_threshold, config.cache_ttl_s, config.cache_coherence_s)
    with _LOCK:
        if key not in _CACHES:
            if config.cache_backend == "redis":
                from vetted_rag.cache.redis import RedisAnswerCache

                _CACHES[key] = RedisAnswerCache(config)
            else:
                from vetted_rag.cache.chroma import ChromaAnswerCache

                _CACHES[key] = ChromaAnswerCache(config)
        return _CACHES[key]
