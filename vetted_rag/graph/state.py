"""Graph state. `typing_extensions.TypedDict` because LangServe's schema generation needs it on 3.11."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal

from langgraph.managed import RemainingSteps
from typing_extensions import NotRequired, TypedDict

Status = Literal["answered", "unverified", "refused", "error", "busy"]
Score = Literal["yes", "no"]


class Passage(TypedDict):
    """A retrieved chunk, numbered for the generator by its position (1-based)."""

    id: str
    source: str
    title: str
    chunk: int
    text: str
    score: float
    lede: NotRequired[bool]  # the chunk holds its document's first prose line (grounding.with_subject)


class Grade(TypedDict):
    """One grader's verdict on one attempt."""

    grader: str
    binary_score: Score
    reason: str


class Citation(TypedDict):
    marker: int
    id: str
    source: str
    title: str
    chunk: int


class TraceEvent(TypedDict):
    node: str
    started_at: float
    duration_ms: float
    decision: str
    reason: str
    details: dict[str, Any]
    usage: dict[str, Any]


class Usage(TypedDict, total=False):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float
    calls: int
    cost_saved_usd: float
    tokens_saved: int


def add_usage(left: Usage | None, right: Usage | None) -> Usage:
    """Sum token and cost counters; `prepare` overwrites them at the start of each run."""
    merged: dict[str, Any] = dict(left or {})
    for key, value in (right or {}).items():
        merged[key] = merged.get(key, 0) + value
    return merged  # type: ignore[return-value]


class InputState(TypedDict):
    """What a caller sends."""

    question: str
    no_cache: NotRequired[bool]
    run_id: NotRequired[str]
    looked_up: NotRequired[dict[str, Any]]  # the cache lookup's outcome, when the caller's hit path already looked


class OutputState(TypedDict, total=False):
    """What a caller gets back (also the shape of `AskResult`)."""

    run_id: str
    question: str
    status: Status
    stop_reason: str
    answer: str | None
    citations: list[Citation]
    grades: list[Grade]
    iterations: int
    usage: Usage
    trace: list[TraceEvent]
    cache: dict[str, Any]


class State(InputState, total=False):
    """Everything the nodes read and write. Counters are reset by `prepare` on every run,
    because a checkpointer carries state over between runs of one thread."""

    run_id: str
    started_at: float
    deadline: float
    standalone: str
    query: str
    queries: list[str]
    passages: list[Passage]
    dropped_passages: list[dict[str, Any]]
    generation: str
    truncated: bool
    grounded_attempt: dict[str, Any]
    answers: list[str]
    feedback: str
    code_check: dict[str, Any]
    hallucination_grade: Grade
    answer_grade: Grade
    grades: list[Grade]
    attempts: int
    rewrites: int
    retry_action: Literal["rewrite", "regenerate", "stop"]
    status: Status
    stop_reason: str
    answer: str | None
    citations: list[Citation]
    cache: dict[str, Any]
    history: Annotated[list[dict[str, str]], operator.add]
    usage: Annotated[Usage, add_usage]
    trace: Annotated[list[TraceEvent], operator.add]
    iterations: int
    remaining_steps: RemainingSteps
