"""Per-key sliding-window limits on requests and tokens per minute (OWASP LLM10).

`RateLimiter` keeps the windows in this process; `RedisRateLimiter` keeps them in Redis, so
several replicas together allow the configured rate, not a multiple of it. `rate_limiter`
picks Redis whenever `redis_url` is configured.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import defaultdict, deque
from typing import Any, Protocol

WINDOW_S = 60.0


class Limiter(Protocol):
    def acquire(self, key: str, requests_per_minute: int, tokens_per_minute: int) -> float | None: ...

    def spend_tokens(self, key: str, tokens: int) -> None: ...


class RateLimiter:
    """Windows in this process (one replica)."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._requests: dict[str, deque[float]] = defaultdict(deque)
        self._tokens: dict[str, deque[tuple[float, int]]] = defaultdict(deque)
        self._spent: dict[str, int] = defaultdict(int)  # the sum of `_tokens[key]`, kept as entries come and go
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> None:
        while self._requests[key] and self._requests[key][0] <= now - WINDOW_S:
            self._requests[key].popleft()
        while self._tokens[key] and self._tokens[key][0][0] <= now - WINDOW_S:
            self._spent[key] -= self._tokens[key].popleft()[1]

    def acquire(self, key: str, requests_per_minute: int, tokens_per_minute: int) -> float | None:
        """Record a request; None if allowed, else the seconds to wait (for Retry-After)."""
        with self._lock:
            now = self._clock()
            self._trim(key, now)
            if len(self._requests[key]) >= requests_per_minute:
                return max(0.0, self._requests[key][0] + WINDOW_S - now)
            if self._spent[key] >= tokens_per_minute:
                return max(0.0, self._tokens[key][0][0] + WINDOW_S - now)
            self._requests[key].append(now)
            return None

    def spend_tokens(self, key: str, tokens: int) -> None:
        if tokens > 0:  # a cache hit spends none: no entry
            with self._lock:
                self._tokens[key].append((self._clock(), tokens))
                self._spent[key] += tokens


# One atomic step on Redis's own clock (replicas' clocks may differ): trim both windows, refuse
# with the seconds until the oldest entry leaves, or record the request. Token entries are
# sorted-set members "<id>:<tokens>" scored by time.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
local spent = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  spent = spent + tonumber(string.match(member, ':(%d+)$'))
end
if spent >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
return false
"""

_SPEND = """
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) + tonumber(t[2]) / 1000000, ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return true
"""


class RedisRateLimiter:
    """Windows in Redis, shared by every replica that uses the same Redis (Lua scripts: atomic)."""

    def __init__(self, url: str, prefix: str = "vetted-rag:ratelimit") -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._spend = self._redis.register_script(_SPEND)

    def _keys(self, key: str) -> list[str]:
        return [f"{self._prefix}:{key}:requests", f"{self._prefix}:{key}:tokens"]

    def acquire(self, key: str, requests_per_minute: int, tokens_per_minute: int) -> float | None:
        wait: Any = self._acquire(keys=self._keys(key),
                                  args=[WINDOW_S, requests_per_minute, tokens_per_minute, uuid.uuid4().hex])
        return None if wait is None else max(0.0, float(wait))

    def spend_tokens(self, key: str, tokens: int) -> None:
        if tokens > 0:
            self._spend(keys=self._keys(key)[1:], args=[f"{uuid.uuid4().hex}:{int(tokens)}", WINDOW_S])


def rate_limiter(redis_url: str | None) -> Limiter:
    """Shared windows in Redis when one is configured, else this process's own."""
    return RedisRateLimiter(redis_url) if redis_url else RateLimiter()


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
