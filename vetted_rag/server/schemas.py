"""Request bodies of the HTTP server. `PolicyRequest` is generated from `RunPolicy`: every limit a
run may lower, with its description and minimum, and nothing else."""

from __future__ import annotations

import typing
from dataclasses import fields
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from vetted_rag.graph.configuration import POLICY_LIMITS, RunPolicy


def _optional(kind: str, **bounds: float) -> Any:
    """An optional limit published as a plain `kind` in the schema: LangServe's playground
    cannot render `anyOf [..., null]` ("Unknown type: null")."""
    base = int if kind == "integer" else float
    return Annotated[base | None, WithJsonSchema({"type": kind, **bounds})]


def _without_null_defaults(schema: dict[str, Any]) -> None:
    # The playground's form would pre-fill `null` and then reject it against the type.
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]


def _limit_field(name: str) -> tuple[Any, Any]:
    """One field of PolicyRequest, generated from RunPolicy's type, description and minimum."""
    minimum, exclusive = POLICY_LIMITS[name]
    spec = next(f for f in fields(RunPolicy) if f.name == name)
    hint = typing.get_type_hints(RunPolicy)[name]
    kind = "integer" if int in (hint, *typing.get_args(hint)) else "number"
    bound = {"exclusiveMinimum": minimum} if exclusive else {"minimum": minimum}
    check = {"gt": minimum} if exclusive else {"ge": minimum}
    return (_optional(kind, **bound, maximum=MAX_LIMIT),
            Field(default=None, le=MAX_LIMIT, description=spec.metadata["description"], **check))


MAX_LIMIT = 10**9
PolicyRequest = create_model(
    "PolicyRequest",
    __config__=ConfigDict(extra="forbid", json_schema_extra=_without_null_defaults),
    __doc__="Limits a request may lower for its own run (never raise). Omitted limits stay as configured.",
    **{name: _limit_field(name) for name in POLICY_LIMITS},
)


class AskRequest(BaseModel):
    """Input of /agent: a question, and optionally a cache bypass and stricter limits."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=2000, description="The question to answer from the knowledge base")
    no_cache: bool = Field(default=False, description="Skip the answer cache for this run")
    policy: PolicyRequest = Field(default_factory=PolicyRequest, description="Stricter limits for this run")


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1, max_length=500)
    title: str = Field(default="", max_length=500)
    text: str = Field(min_length=1, max_length=50_000)


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[DocumentIn] = Field(default_factory=list, max_length=50)
    urls: list[str] = Field(default_factory=list, max_length=10,
                            description="http(s) URLs to fetch; local paths are never read over HTTP")
