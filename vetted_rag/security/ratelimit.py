"""Per-key sliding-window limits on requests and tokens per minute (OWASP LLM10).

In-process: with several replicas each enforces its own share; a shared limiter would
live in Redis (not built here).
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque

WINDOW_S = 60.0


class RateLimiter:
    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._requests: dict[str, deque[float]] = defaultdict(deque)
        self._tokens: dict[str, deque[tuple[float, int]]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> None:
        while self._requests[key] and self._requests[key][0] <= now - WINDOW_S:
            self._requests[key].popleft()
        while self._tokens[key] and self._tokens[key][0][0] <= now - WINDOW_S:
            self._tokens[key].popleft()

    def acquire(self, key: str, requests_per_minute: int, tokens_per_minute: int) -> float | None:
        """Record a request; None if allowed, else the seconds to wait (for Retry-After)."""
        with self._lock:
            now = self._clock()
            self._trim(key, now)
            if len(self._requests[key]) >= requests_per_minute:
                return max(0.0, self._requests[key][0] + WINDOW_S - now)
            if sum(n for _, n in self._tokens[key]) >= tokens_per_minute:
                return max(0.0, self._tokens[key][0][0] + WINDOW_S - now)
            self._requests[key].append(now)
            return None

    def spend_tokens(self, key: str, tokens: int) -> None:
        with self._lock:
            self._tokens[key].append((self._clock(), tokens))


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
