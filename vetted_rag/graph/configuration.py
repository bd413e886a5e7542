"""One typed configuration: models, retrieval, budgets, storage — and what a run may change.

`Configuration` is the deployment's: read from environment variables (`VETTED_RAG_<FIELD>`,
policy fields as `VETTED_RAG_<FIELD>` too) and CLI flags when a process starts. `Context` is
the LangGraph context schema: the few fields one run may choose, applied by
`Configuration.for_run` (limits only ever lowered). Nothing else in the package holds a
threshold, a budget or a model name.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

ENV_PREFIX = "VETTED_RAG_"
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("vetted_rag_environ", default=None)


def env_defaults(cls: type) -> type:
    """Make each plain default read VETTED_RAG_<FIELD> first, so that a configuration built by
    anyone (LangGraph coercing a Studio context, LangServe, Python) honours the environment and
    explicit values still win. Apply below @dataclass."""
    hints = typing.get_type_hints(cls)
    for name, hint in hints.items():
        spec = cls.__dict__.get(name)
        default = spec.default if isinstance(spec, Field) else spec
        if name.startswith("_") or default is MISSING or (isinstance(spec, Field) and spec.default_factory is not MISSING):
            continue
        if isinstance(default, (dict, list)) or name not in cls.__dict__:
            continue
        metadata = dict(spec.metadata) if isinstance(spec, Field) else {}
        metadata["description"] = (f"{metadata.get('description', '')} Default: {default!r}; "
                                   f"env {ENV_PREFIX}{name.upper()}.").strip()
        setattr(cls, name, field(default_factory=_reader(name, default, hint), metadata=metadata))
    return cls


def _reader(name: str, default: Any, hint: Any) -> Any:
    def read() -> Any:
        environ = _ENVIRON.get() or os.environ
        raw = environ.get(ENV_PREFIX + name.upper())
        return default if raw is None else _parse(raw, hint, name)

    return read

# Supersteps a run takes outside the retry loop (prepare, contextualize, cache_lookup,
# retrieve, finalize, cache_store) and per graded attempt at most (generate, self_check,
# grade_hallucination, grade_answer, retry, retrieve after a rewrite).
FIXED_STEPS = 6
STEPS_PER_ATTEMPT = 6
# A retry needs room for a whole attempt (retry, retrieve, generate, self_check, two grades, of which
# retrieve only after a rewrite) and then finalize and cache_store.
STEPS_TO_FINISH_AN_ATTEMPT = STEPS_PER_ATTEMPT + 2


@dataclass(frozen=True, kw_only=True)
@env_defaults
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
    quote_repeated_answer: bool = field(
        default=False,
        metadata={"description": "When an answer that failed the support check comes back the same, grade the passage "
                                 "sentence it comes from instead (once) rather than stopping as a loop. Off by default: "
                                 "released quotes were wrong more often than the model's own answers (bench/RESULTS.md)."},
    )
    return_unverified_answer: bool = field(
        default=False,
        metadata={"description": "Return a failed attempt with an `unverified` result: only one that passed the "
                                 "hallucination check (grounded, judged not to answer), never an ungrounded one."},
    )

    def __post_init__(self) -> None:
        for name, (minimum, exclusive) in {**POLICY_LIMITS, "retry_initial_interval_s": (0, False)}.items():
            value = getattr(self, name)
            if value is not None and (value <= minimum if exclusive else value < minimum):
                raise ValueError(f"{name} must be {'above' if exclusive else 'at least'} {minimum}, not {value!r}")
        if not 0 < self.loop_similarity <= 1:
            raise ValueError(f"loop_similarity must be in (0, 1], not {self.loop_similarity!r}")

    @property
    def effective_recursion_limit(self) -> int:
        """The explicit superstep limit: set, or what the iteration budget needs plus one spare step."""
        if self.recursion_limit is not None:
            return self.recursion_limit
        return FIXED_STEPS + STEPS_PER_ATTEMPT * self.max_iterations + 1

    def lowered_to(self, requested: Mapping[str, Any] | None) -> RunPolicy:
        """This policy with the requested limits applied where they are stricter; looser ones are
        ignored. A field that is not a limit, or an invalid value, is refused (ValueError naming it)."""
        if not requested:
            return self
        changes: dict[str, Any] = {}
        for name, value in requested.items():
            if name not in POLICY_LIMITS:
                raise ValueError(f"policy field {name!r} cannot be set per run "
                                 f"(per-run limits: {', '.join(sorted(POLICY_LIMITS))})")
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"policy field {name!r} must be a number, not {value!r}")
            current = getattr(self, name)
            if current is None or value < current:
                changes[name] = value
        return replace(self, **changes)  # __post_init__ refuses values below each limit's minimum


# Grader models measured on held-out HaluEval rows whose LLM verdicts do not add to the checks
# (bench/RESULTS.md): the packaged Qwen2.5-Coder-1.5B in-process (`embedded`) and over llama.cpp's
# OpenAI-compatible server (hallucination: LLM 0.80 vs checks 0.97, combined = checks; relevance:
# LLM 0.85 vs checks 0.92, combined 0.86). Matched as a substring of the model name.
CHECKS_ALONE_GRADERS = ("embedded", "qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2")

# The limits a run may lower (every numeric field of RunPolicy), with the smallest valid value
# (exclusive for time limits). The HTTP request schema and CLI flags are generated from this.
POLICY_LIMITS: dict[str, tuple[float, bool]] = {
    "max_iterations": (1, False), "max_rewrites": (0, False), "recursion_limit": (1, False),
    "max_execution_time_s": (0, True), "llm_timeout_s": (0, True), "max_retries": (0, False),
    "max_total_tokens": (1, False), "max_cost_usd": (0, False),
}


@dataclass(kw_only=True)
class Context:
    """What a caller may choose for one run: the LangGraph context schema (Studio shows these).

    Omitted fields keep the deployment's values, and limits can only be lowered. Storage, service
    URLs, tenant, authentication, models and model files are deployment settings (environment or
    CLI flags at start): a context that names one is refused, so a caller of LangGraph Server can
    neither choose where data is written nor raise a limit.
    """

    top_k: int | None = field(default=None, metadata={"description": "Passages retrieved per query (1-20)."})
    relevance_threshold: float | None = field(
        default=None, metadata={"description": "Minimum cosine similarity for a passage to be used (0-1)."}
    )
    grading: Literal["combined", "deterministic"] | None = field(
        default=None, metadata={"description": "'combined' (checks AND LLM graders) or 'deterministic' (checks only)."}
    )
    max_answer_tokens: int | None = field(
        default=None, metadata={"description": "Output token cap per generation; can only be lowered."}
    )
    use_cache: bool = field(default=True, metadata={"description": "False: neither read nor write the answer cache."})
    policy: dict[str, float | int | None] = field(
        default_factory=dict,
        metadata={"description": "Stricter run limits, e.g. {\"max_iterations\": 1, \"max_total_tokens\": 2000}."},
    )

    def __post_init__(self) -> None:
        if self.top_k is not None and not 1 <= self.top_k <= 20:
            raise ValueError(f"top_k must be between 1 and 20, not {self.top_k!r}")
        if self.relevance_threshold is not None and not 0 <= self.relevance_threshold <= 1:
            raise ValueError(f"relevance_threshold must be between 0 and 1, not {self.relevance_threshold!r}")
        if self.grading not in (None, "combined", "deterministic"):
            raise ValueError(f"grading must be 'combined' or 'deterministic', not {self.grading!r}")
        if self.max_answer_tokens is not None and self.max_answer_tokens < 1:
            raise ValueError(f"max_answer_tokens must be at least 1, not {self.max_answer_tokens!r}")
        RunPolicy().lowered_to(self.policy)  # refuses unknown fields and invalid values now, not mid-run


@dataclass(kw_only=True, frozen=True)
@env_defaults
class Configuration:
    """The deployment's settings, frozen once resolved (environment, CLI flags, Python). Every field has
    an environment variable VETTED_RAG_<NAME>. One run changes only what `Context` allows, through
    `for_run`; registries of stores and caches are keyed on these values."""

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
    model_base_url: str | None = field(
        default=None,
        metadata={"description": "Base URL of the provider's API for 'provider:model' names: an OpenAI-compatible "
                                 "server (llama.cpp, Ollama, vLLM: 'openai:<model>' with http://host:port/v1) or a "
                                 "Cohere-compatible endpoint."},
    )
    gguf_path: str | None = field(
        default=None,
        metadata={"description": "GGUF file for the embedded model; defaults to the packaged Qwen2.5-Coder-1.5B-Instruct."},
    )
    threads: int | None = field(
        default=None,
        metadata={"description": "llama.cpp threads for the embedded model; unset: one per idle core when it loads "
                                 "(measured: bench/RESULTS.md)."},
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
    grading: Literal["combined", "deterministic"] | None = field(
        default=None,
        metadata={
            "description": "'combined': deterministic checks AND the LLM graders; 'deterministic': checks only, no "
            "grader calls. Unset: 'deterministic' for grader models measured not to add to the checks (the packaged "
            "Qwen models, embedded or served: bench/RESULTS.md), 'combined' for any other model."
        },
    )
    reread_answers: bool = field(
        default=True,
        metadata={"description": "Before a short name, date or number is released, the chat model reads the passages "
                                 "again and picks the answer from it and the other names, dates or numbers there; it "
                                 "passes only if the model picks it again. The checks cannot tell a right entity from "
                                 "a wrong one in the same passage (bench/RESULTS.md, re-read)."},
    )
    require_citations: bool = field(
        default=True, metadata={"description": "An answer without a valid [n] citation fails grounding."}
    )
    self_check_code: bool = field(
        default=True, metadata={"description": "Run Python code blocks of an answer in the sandbox."}
    )

    langfuse: bool = field(
        default=False,
        metadata={"description": "Attach a Langfuse callback handler (needs the langfuse package and LANGFUSE_* env)."},
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
    postgres_url: str | None = field(
        default=None,
        metadata={"description": "postgresql://... for threads (LangGraph checkpointer) and traces shared by replicas."},
    )
    seed_sample: bool = field(
        default=True, metadata={"description": "Ingest the shipped sample docs into an empty public collection."}
    )
    trace_retention_days: int = field(
        default=30, metadata={"description": "Stored decision traces older than this are deleted."}
    )

    # --- cache --------------------------------------------------------------------------
    cache_enabled: bool = field(default=True, metadata={"description": "Serve vetted answers from the cache."})
    cache_backend: Literal["chroma", "redis"] = field(
        default="chroma", metadata={"description": "'chroma' (embedded, beside the knowledge base) or 'redis' (scale-out)."}
    )
    redis_url: str | None = field(default=None, metadata={"description": "redis://host:port/db for the 'redis' cache."})
    cache_embedding_model: str = field(
        default="minilm-q8",
        metadata={"description": "Embeds questions for the semantic tier, apart from the knowledge base's model: "
                                 "'minilm-q8' (packaged MiniLM in int8 arithmetic, 1.5 ms a question against 4.6 ms, "
                                 "no API call per lookup), 'minilm' or 'cohere:<model>' (bench/RESULTS.md, hit path)."},
    )
    cache_similarity_threshold: float | None = field(
        default=None,
        metadata={"description": "Cosine threshold for a semantic hit; None uses the cache embedding model's measured "
                                 "default."},
    )
    cache_verify_hits: bool = field(
        default=True, metadata={"description": "Before serving a semantic hit, check that its answer is the kind the new "
                                               "wording asks for (a number, a yes/no…) and, under 'combined' grading, "
                                               "have the LLM grader confirm it."}
    )
    cache_ttl_s: int = field(default=7 * 24 * 3600, metadata={"description": "Lifetime of a cache entry."})
    cache_coherence_s: float = field(
        default=2.0,
        metadata={"description": "How long this process trusts what it read from shared stores before reading "
                                 "again: an exact-tier entry or its absence, a scope's cached-question vectors, the "
                                 "knowledge base's fingerprint. An "
                                 "ingest or cache clear made by another replica or process shows here within this "
                                 "time; this process's own take effect at once. 0 reads the stores every time."},
    )

    # --- serving ------------------------------------------------------------------------
    model_slots: int = field(
        default=1,
        metadata={"description": "Runs doing model work at once in this process (the embedded model serves one "
                                 "sequence at a time; measured: bench/RESULTS.md)."},
    )
    admission_queue: int = field(
        default=16, metadata={"description": "Runs that may wait for a model slot; more are refused `busy` at once."}
    )
    admission_wait_s: float = field(
        default=30.0,
        metadata={"description": "Longest wait for a model slot before a run ends `busy` (HTTP 503, Retry-After)."},
    )

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
            object.__setattr__(self, "policy", RunPolicy(**self.policy))
        if self.top_k < 1:
            raise ValueError("top_k must be at least 1")
        if self.threads is not None and self.threads < 1:
            raise ValueError("threads must be at least 1")
        if self.cache_coherence_s < 0:
            raise ValueError("cache_coherence_s must be at least 0")
        if self.cache_ttl_s < 1:
            raise ValueError("cache_ttl_s must be at least 1 second")
        if self.model_slots < 1 or self.admission_queue < 0 or self.admission_wait_s <= 0:
            raise ValueError("model_slots must be at least 1, admission_queue at least 0, admission_wait_s positive")
        for name, allowed in (("grading", {None, "combined", "deterministic"}), ("cache_backend", {"chroma", "redis"})):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {sorted(a for a in allowed if a)}, not {getattr(self, name)!r}")

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @property
    def grader(self) -> str:
        return self.grader_model or self.chat_model

    @property
    def grading_rule(self) -> str:
        """`grading`, else by measurement: grader models whose LLM verdicts were measured not to add to the
        deterministic checks are graded by the checks alone; any other model by both."""
        if self.grading:
            return self.grading
        model = self.grader.partition(":")[2].lower() or self.grader
        return "deterministic" if any(name in model for name in CHECKS_ALONE_GRADERS) else "combined"

    def for_run(self, context: Context) -> Configuration:
        """This deployment configuration with one run's context applied (limits only lowered)."""
        chosen = {name: getattr(context, name) for name in ("top_k", "relevance_threshold", "grading")
                  if getattr(context, name) is not None}
        if context.max_answer_tokens is not None:
            chosen["max_answer_tokens"] = min(context.max_answer_tokens, self.max_answer_tokens)
        if not context.use_cache:
            chosen["cache_enabled"] = False
        return replace(self, **chosen, policy=self.policy.lowered_to(context.policy))

    def with_policy(self, **limits: Any) -> Configuration:
        """A copy whose run policy is lowered to `limits` (never raised)."""
        return replace(self, policy=self.policy.lowered_to(limits))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Configuration:
        """Defaults, then VETTED_RAG_* variables (of `environ`, default os.environ), then explicit
        overrides (None values ignored; policy fields may be given flat or as `policy`)."""
        token = _ENVIRON.set(environ)
        try:
            nested = overrides.pop("policy", None) or {}
            overrides = {**(asdict(nested) if isinstance(nested, RunPolicy) else nested), **overrides}
            policy_names = {f.name for f in fields(RunPolicy)}
            top = {k: v for k, v in overrides.items() if v is not None and k not in policy_names}
            pol = {k: v for k, v in overrides.items() if v is not None and k in policy_names}
            return cls(**top, policy=RunPolicy(**pol))
        finally:
            _ENVIRON.reset(token)


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
