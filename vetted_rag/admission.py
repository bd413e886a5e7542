"""Admission control for model work: a bounded queue in front of the model.

A run takes a model slot at its first model call and holds it until it ends; cache hits and
refusals never call a model, so they never wait. At most `admission_queue` runs wait, each at
most `admission_wait_s`; a run that cannot start in time ends with status `busy` (HTTP 503 with
`Retry-After`) instead of spending its wall clock in a queue. The gate is shared by every
event loop of the process (the CLI and `run_sync` start one per call), so it is built on a
thread lock and per-waiter futures rather than an `asyncio.Semaphore`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram

QUEUE_DEPTH = Gauge("vetted_rag_admission_queue_depth", "Runs waiting for a model slot")
SLOTS_BUSY = Gauge("vetted_rag_admission_slots_busy", "Model slots held by runs")
WAIT_SECONDS = Histogram("vetted_rag_admission_wait_seconds", "Time runs waited for a model slot",
                         buckets=(0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60))
REJECTED = Counter("vetted_rag_admission_rejected_total", "Runs refused a model slot", ["why"])


class Busy(RuntimeError):
    """No model slot within the wait limit, or the queue is full."""

    def __init__(self, reason: str, retry_after_s: float) -> None:
        super().__init__(reason)
        self.reason, self.retry_after_s = reason, retry_after_s


class ModelGate:
    """`slots` runs at a time do model work; up to `queue` wait, each at most `max_wait_s`."""

    def __init__(self, slots: int, queue: int, max_wait_s: float) -> None:
        self.slots, self.queue, self.max_wait_s = slots, queue, max_wait_s
        self._lock = threading.Lock()
        self._busy = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = deque()

    def _gauges(self) -> None:
        QUEUE_DEPTH.set(len(self._waiters))
        SLOTS_BUSY.set(self._busy)

    async def acquire(self) -> float:
        """Take a slot; returns the seconds waited. Raises `Busy`."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._busy < self.slots and not self._waiters:
                self._busy += 1
                self._gauges()
                WAIT_SECONDS.observe(0.0)
                return 0.0
            if len(self._waiters) >= self.queue:
                REJECTED.labels(why="queue full").inc()
                raise Busy(f"the model is busy: {self._busy} run(s) working and {len(self._waiters)} waiting "
                           f"(queue limit {self.queue})", self.max_wait_s)
            waiter = (loop, loop.create_future())
            self._waiters.append(waiter)
            self._gauges()
        started = time.monotonic()
        try:
            await asyncio.wait_for(asyncio.shield(waiter[1]), timeout=self.max_wait_s)
        except BaseException as exc:  # timed out or cancelled: leave the queue, or pass on a slot just handed over
            with self._lock:
                handed = waiter not in self._waiters
                if not handed:
                    self._waiters.remove(waiter)
                    self._gauges()
            if handed:
                self.release()
            if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
                REJECTED.labels(why="wait limit").inc()
                raise Busy(f"the model is busy: no slot within the wait limit of {self.max_wait_s:g}s",
                           self.max_wait_s) from None
            raise
        waited = time.monotonic() - started
        WAIT_SECONDS.observe(waited)
        return waited

    def release(self) -> None:
        """Hand the slot to the longest waiter (the busy count stays), or free it."""
        with self._lock:
            while self._waiters:
                loop, future = self._waiters.popleft()
                try:
                    loop.call_soon_threadsafe(_wake, future)
                except RuntimeError:  # that waiter's event loop has closed
                    continue
                self._gauges()
                return
            self._busy -= 1
            self._gauges()


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


@dataclass
class RunTicket:
    """One run's claim on the gate: taken at its first model call, released when the run ends."""

    gate: ModelGate
    held: bool = False
    queued_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    async def admit(self) -> float | None:
        """Seconds waited if this call took the run's slot; None if the run already held it."""
        if self.held:
            return None
        self.queued_s = await self.gate.acquire()
        self.held = True
        return self.queued_s

    def release(self) -> None:
        with self._lock:
            if self.held:
                self.held = False
                self.gate.release()


CURRENT_TICKET: ContextVar[RunTicket | None] = ContextVar("vetted_rag_run_ticket", default=None)

_GATES: dict[tuple, ModelGate] = {}
_GATES_LOCK = threading.Lock()


def model_gate(slots: int, queue: int, max_wait_s: float) -> ModelGate:
    """The process's gate for these limits (one per process: every Agent shares the model)."""
    with _GATES_LOCK:
        return _GATES.setdefault((slots, queue, max_wait_s), ModelGate(slots, queue, max_wait_s))
