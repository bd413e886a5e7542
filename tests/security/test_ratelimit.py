"""The in-process windows (the Redis ones are tested against a real Redis in test_http_security.py)."""

from vetted_rag.security.ratelimit import WINDOW_S, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_window_refuses_over_budget_and_forgets_old_spending():
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    assert limiter.acquire("k", 100, 150) is None
    limiter.spend_tokens("k", 100)
    clock.now += 10
    limiter.spend_tokens("k", 60)
    limiter.spend_tokens("k", 0)  # a cache hit
    assert limiter.acquire("k", 100, 150) == WINDOW_S - 10  # 160 spent: wait until the first spend leaves
    clock.now += WINDOW_S - 10
    assert limiter.acquire("k", 100, 150) is None  # 60 left in the window
    clock.now += 10
    limiter.spend_tokens("k", 149)
    assert limiter.acquire("k", 100, 150) is None  # the 60 left the window too: 149 spent


def test_request_window():
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    assert [limiter.acquire("k", 2, 10**9) for _ in range(3)] == [None, None, WINDOW_S]
    assert limiter.acquire("other", 2, 10**9) is None  # per key
    clock.now += WINDOW_S
    assert limiter.acquire("k", 2, 10**9) is None
