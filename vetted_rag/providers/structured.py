"""Structured output parsed from a model's reply: a tool call's arguments (Cohere) or a JSON
object in the text (the embedded model, the scripted test model).

One parse path for all of them, so tests of malformed output exercise the production parser.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ValidationError

_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


class MalformedOutput(ValueError):
    """The model's text is not a valid instance of the requested schema."""


def parse_into(schema: type[BaseModel], message: AIMessage) -> BaseModel:
    if message.invalid_tool_calls:
        bad = message.invalid_tool_calls[0]
        raise MalformedOutput(f"malformed tool call {bad.get('name')!r}: {str(bad.get('args'))[:120]!r}")
    if message.tool_calls:
        try:
            return schema.model_validate(message.tool_calls[0]["args"])
        except ValidationError as exc:
            raise MalformedOutput(f"tool call does not match {schema.__name__}: {exc.errors()[0]['msg']}") from exc
    text = message.content if isinstance(message.content, str) else json.dumps(message.content)
    found = _JSON_OBJECT.search(text)
    if not found:
        raise MalformedOutput(f"no JSON object in model output: {text[:120]!r}")
    try:
        return schema.model_validate_json(found.group(0))
    except ValidationError as exc:
        raise MalformedOutput(f"output does not match {schema.__name__}: {exc.errors()[0]['msg']}") from exc


def structured_runnable(bound: Runnable, schema: type[BaseModel], include_raw: bool) -> Runnable:
    """`bound | parser`, shaped like LangChain's `with_structured_output` (include_raw dict or parsed)."""
    if not include_raw:
        return bound | RunnableLambda(lambda m: parse_into(schema, m))

    def parse_raw(message: AIMessage) -> dict[str, Any]:
        try:
            return {"raw": message, "parsed": parse_into(schema, message), "parsing_error": None}
        except MalformedOutput as exc:
            return {"raw": message, "parsed": None, "parsing_error": exc}

    return bound | RunnableLambda(parse_raw)


def compact_grammar(schema: type[BaseModel], max_string: int = 160) -> str:
    """GBNF for a flat object of string / Literal fields, keys in order, no free whitespace.

    llama.cpp's JSON-schema mode lets tiny models emit whitespace forever; a tight
    grammar with bounded strings always terminates.
    """
    props = schema.model_json_schema()["properties"]
    parts = []
    for i, (name, spec) in enumerate(props.items()):
        key = ('"{"' if i == 0 else '", "') + f' "\\"{name}\\": " '
        if "enum" in spec:
            value = "(" + " | ".join(f'"\\"{v}\\""' for v in spec["enum"]) + ")"
        elif spec.get("type") == "string":
            value = f'"\\"" char{{1,{max_string}}} "\\""'
        else:
            raise NotImplementedError(f"compact_grammar supports string and enum fields, not {spec}")
        parts.append(key + value)
    return "root ::= " + " ".join(parts) + ' "}"\nchar ::= [^"\\\\\\x00-\\x1f]\n'
