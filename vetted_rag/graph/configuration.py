"""One typed configuration for every run: models, retrieval, budgets, storage.

`Configuration` is the LangGraph context schema (Studio shows each field with its
description) and is also read from environment variables (`VETTED_RAG_<FIELD>`,
policy fields as `VETTED_RAG_<FIELD>` too) and from CLI flags. Nothing else in
the package holds a threshold, a budget or a model name.
"""

from __future__ import annotations

import os
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "VETTED_RAG_"

# Supersteps a run takes outside the retry loop (prepare, cache_lookup, retrieve,
# finalize, cache_store) and per graded attempt at most (generate, self_check,
# grade_hallucination, grade_answer, retry, retrieve after a rewrite).
FIXED_STEPS = 5
STEPS_PER_ATTEMPT = 6


@dataclass(frozen=True, kw_only=True)
class RunPolicy:
    """Bounds on one run. Every limit ends the run with an explicit status, never an exception.

    A caller can only lower these values for a single run (see `lowered_to`); raising
    them needs a new configuration.
    """

    max_iterations: int = field(
        default=3, metadata={"description": "Graded attempts (generations) before the run ends `unverified`."}
    )
    max_rewrites: int = field(
        default=2, metadata={"description": "Question rewrites for retrieval within the attempts."}
    )
    recursion_limit: int | None = field(
        default=None,
        metadata={"description": "LangGraph superstep limit; derived from max_iterations when unset."},
    )
    max_execution_time_s: float = field(
        default=180.0, metadata={"description": "Wall-clock limit for one run, in seconds."}
    )
    llm_timeout_s: float = field(
        default=60.0, metadata={"description": "Limit for one model call attempt, in seconds."}
    )
    max_retries: int = field(
        default=2, metadata={"description": "Retries of a transient provider error (timeout, 429, 5xx, connection)."}
    )
    retry_initial_interval_s: float = field(
        default=0.5, metadata={"description": "First backoff interval; doubles per retry, with jitter."}
    )
    max_total_tokens: int | None = field(
        default=50_000, metadata={"description": "Token budget (input + output, all calls) for one run."}
    )
    max_cost_usd: float | None = field(
        default=None, metadata={"description": "Cost budget for one run in USD (None: no cost limit)."}
    )
    loop_similarity: float = field(
        default=0.95,
        metadata={"description": "Similarity above which a rewrite or regeneration counts as a repeat."},
    )
    return_unverified_answer: bool = field(
        default=True,
        metadata={"description": "Return the best failed attempt (always flagged `unverified`) instead of none."},
    )

    def __post_init__(self) -> None:
        if self.max_iterations < 1:
            raise ValueError("max_iterations must be at least 1")
        if self.max_rewrites < 0 or self.max_retries < 0:
            raise ValueError("max_rewrites and max_retries cannot be negative")
        if self.max_execution_time_s <= 0 or self.llm_timeout_s <= 0:
            raise ValueError("time limits must be positive")

    @property
    def effective_recursion_limit(self) -> int:
        """The explicit superstep limit: set, or what the iteration budget needs plus one spare step."""
        if self.recursion_limit is not None:
            return self.recursion_limit
        return FIXED_STEPS + STEPS_PER_ATTEMPT * self.max_iterations + 1

    def lowered_to(self, requested: dict[str, Any] | None) -> RunPolicy:
        """This policy with the requested limits applied where they are stricter; looser ones are ignored."""
        if not requested:
            return self
        changes: dict[str, Any] = {}
        for name, value in requested.items():
            if name not in _POLICY_LIMITS or value is None:
                continue
            current = getattr(self, name)
            if current is None or value < current:
                changes[name] = value
        return replace(self, **changes)


# Fields a request may lower (numeric limits). The rest are behaviour switches.
_POLICY_LIMITS = {
    "max_iterations", "max_rewrites", "recursion_limit", "max_execution_time_s", "llm_timeout_s",
    "max_retries", "max_total_tokens", "max_cost_usd",
}


@dataclass(kw_only=True)
class Configuration:
    """Settings of the vetted-rag agent. Every field has an environment variable VETTED_RAG_<NAME>."""

    # --- models -------------------------------------------------------------------------
    chat_model: str = field(
        default="embedded",
        metadata={
            "description": "Chat model: 'embedded' (GGUF in-process), 'cohere:<model>', any LangChain "
            "'provider:model' name, or 'heuristic' (model-free deterministic baseline for CI)."
        },
    )
    grader_model: str | None = field(
        default=None, metadata={"description": "Model for graders and rewrites; defaults to chat_model."}
    )
    gguf_path: str | None = field(
        default=None,
        metadata={"description": "GGUF file for the embedded model; defaults to the packaged SmolLM2-135M-Instruct."},
    )
    embedding_model: str = field(
        default="minilm",
        metadata={"description": "'minilm' (packaged ONNX all-MiniLM-L6-v2) or 'cohere:<model>'."},
    )
    max_answer_tokens: int = field(default=120, metadata={"description": "Output token cap per generation."})
    temperature: float = field(default=0.0, metadata={"description": "Sampling temperature for all calls."})
    prices_per_million: dict[str, list[float]] = field(
        default_factory=dict,
        metadata={"description": "Overrides of the price table: model -> [input, output] USD per million tokens."},
    )

    # --- retrieval and grading -----------------------------------------------------------
    top_k: int = field(default=4, metadata={"description": "Passages retrieved per query."})
    relevance_threshold: float = field(
        default=0.2, metadata={"description": "Minimum cosine similarity for a passage to be used."}
    )
    support_threshold: float = field(
        default=0.6,
        metadata={
            "description": "Share of an answer sentence's content words that its cited passages must "
            "contain for the deterministic support check."
        },
    )
    require_citations: bool = field(
        default=True, metadata={"description": "An answer without a valid [n] citation fails grounding."}
    )
    self_check_code: bool = field(
        default=True, metadata={"description": "Run Python code blocks of an answer in the sandbox."}
    )

    # --- storage ------------------------------------------------------------------------
    data_dir: str = field(
        default="~/.local/share/vetted-rag",
        metadata={"description": "Chroma store, checkpoints, traces and audit log live here."},
    )
    collection: str = field(default="knowledge", metadata={"description": "Knowledge-base collection."})
    chroma_url: str | None = field(
        default=None, metadata={"description": "http(s)://host:port of a Chroma server (scale-out)."}
    )
    seed_sample: bool = field(
        default=True, metadata={"description": "Ingest the shipped sample docs into an empty public collection."}
    )
    trace_retention_days: int = field(
        default=30, metadata={"description": "Stored decision traces older than this are deleted."}
    )

    # --- cache --------------------------------------------------------------------------
    cache_enabled: bool = field(default=True, metadata={"description": "Serve vetted answers from the cache."})
    cache_similarity_threshold: float | None = field(
        default=None,
        metadata={"description": "Cosine threshold for a semantic hit; None uses the embedding model's measured default."},
    )
    cache_verify_hits: bool = field(
        default=True, metadata={"description": "Have the answer grader confirm a semantic hit before serving it."}
    )
    cache_ttl_s: int = field(default=7 * 24 * 3600, metadata={"description": "Lifetime of a cache entry."})

    # --- security -----------------------------------------------------------------------
    max_question_chars: int = field(default=2000, metadata={"description": "Longer questions are refused."})
    redact_answers: bool = field(
        default=False, metadata={"description": "Also redact PII in answers (always redacted in logs and traces)."}
    )
    tenant: str = field(
        default="public", metadata={"description": "Scope of knowledge-base and cache entries (set per API key)."}
    )
    auth_required: bool = field(
        default=True,
        metadata={"description": "HTTP server requires API keys; turn off only for local development."},
    )

    policy: RunPolicy = field(default_factory=RunPolicy, metadata={"description": "Run budgets."})

    def __post_init__(self) -> None:
        # Contexts arrive as plain JSON from Studio, HTTP and env; coerce the nested policy.
        if isinstance(self.policy, dict):
            self.policy = RunPolicy(**self.policy)
        if self.top_k < 1:
            raise ValueError("top_k must be at least 1")

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @property
    def grader(self) -> str:
        return self.grader_model or self.chat_model

    def with_policy(self, **limits: Any) -> Configuration:
        """A copy whose run policy is lowered to `limits` (never raised)."""
        return replace(self, policy=self.policy.lowered_to(limits))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Configuration:
        """Defaults, then VETTED_RAG_* variables, then explicit overrides (None values ignored)."""
        env = os.environ if environ is None else environ
        top = _read_fields(cls, env)
        pol = _read_fields(RunPolicy, env)
        for name, value in overrides.items():
            if value is None:
                continue
            if name in {f.name for f in fields(RunPolicy)}:
                pol[name] = value
            else:
                top[name] = value
        return cls(**top, policy=RunPolicy(**pol))


def _read_fields(schema: type, env: Any) -> dict[str, Any]:
    hints = typing.get_type_hints(schema)
    values: dict[str, Any] = {}
    for f in fields(schema):
        raw = env.get(ENV_PREFIX + f.name.upper())
        if raw is None or f.name in {"policy", "prices_per_million"}:
            continue
        values[f.name] = _parse(raw, hints[f.name], f.name)
    return values


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _parse(raw: str, hint: Any, name: str) -> Any:
    """Parse an environment string by the field's annotation (bool, int, float, str, optional)."""
    args = typing.get_args(hint)
    optional = type(None) in args
    if optional and raw.strip().lower() in {"", "none", "null"}:
        return None
    base = next((a for a in args if a is not type(None)), hint) if optional else hint
    text = raw.strip()
    try:
        if base is bool:
            if text.lower() not in _TRUE | _FALSE:
                raise ValueError(raw)
            return text.lower() in _TRUE
        if base in (int, float):
            return base(text)
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {base.__name__}") from exc
    return raw
