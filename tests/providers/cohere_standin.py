"""A loopback stand-in of Cohere's v2 chat API (`POST /v2/chat`, non-streaming), for driving the
real `cohere` SDK and `langchain-cohere` over HTTP.

Written from Cohere's public API reference (https://docs.cohere.com/reference/chat), whose
request and response models the SDK ships as Fern types (`cohere/v2/raw_client.py`,
`cohere/types/chat_response.py`, `json_response_format_v2.py`):

- request: `model` and `messages` required; roles system/user/assistant/tool; `tools` as
  `{"type": "function", "function": {"name", "description", "parameters"}}`;
  `response_format` as `{"type": "text"}` or `{"type": "json_object", "json_schema": {...}}`;
  `Authorization: Bearer <key>`;
- response: `id`, `finish_reason` (COMPLETE, MAX_TOKENS, TOOL_CALL, ...), `message` with
  `content` blocks or `tool_plan` + `tool_calls` (`arguments` a JSON string), and `usage` with
  `billed_units` and `tokens`;
- errors: `{"id", "message"}` bodies; 401, 429 (with `Retry-After`), 5xx.

Every request is checked against those shapes; a mismatch is recorded in `violations` (and
answered 400 as the real API would), so a test fails when the SDK's requests drift.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

REQUEST_FIELDS = {"model", "messages", "tools", "documents", "citation_options", "response_format", "safety_mode",
                  "max_tokens", "stop_sequences", "temperature", "seed", "frequency_penalty", "presence_penalty",
                  "k", "p", "logprobs", "tool_choice", "strict_tools", "thinking", "stream"}
ROLES = {"system", "user", "assistant", "tool"}
RESPONSE_FORMAT_FIELDS = {"type", "json_schema"}


@dataclass
class Reply:
    """One scripted answer: text, a tool call, an error status, or a delay before the next reply."""

    text: str | None = None
    tool: tuple[str, str] | None = None  # (name, arguments as sent: normally JSON)
    status: int = 200
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    finish_reason: str = "COMPLETE"


def text(content: str, **kw: Any) -> Reply:
    return Reply(text=content, **kw)


def tool_call(name: str, arguments: dict[str, Any] | str) -> Reply:
    return Reply(tool=(name, arguments if isinstance(arguments, str) else json.dumps(arguments)),
                 finish_reason="TOOL_CALL")


def error(status: int, message: str, **headers: str) -> Reply:
    return Reply(status=status, message=message, headers=headers)


class CohereStandIn:
    """Serve `script` replies in order (the last one repeats); record requests and violations."""

    def __init__(self, api_key: str = "test-key") -> None:
        self.api_key = api_key
        self.script: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.replies: list[Reply] = []  # what each request was answered with
        self.violations: list[str] = []
        self.url = ""  # set by whoever serves `app`
        self.app = Starlette(routes=[Route("/v2/chat", self.chat, methods=["POST"])])

    def check(self, request: Request, body: Any) -> list[str]:
        problems = []
        if request.headers.get("authorization", "") != f"Bearer {self.api_key}":
            problems.append("Authorization is not 'Bearer <key>'")
        if not isinstance(body, dict):
            return problems + ["body is not a JSON object"]
        problems += [f"unknown request field {k!r}" for k in sorted(set(body) - REQUEST_FIELDS)]
        if not isinstance(body.get("model"), str) or not body["model"]:
            problems.append("model missing")
        if body.get("stream") not in (None, False):
            problems.append("stream requested from the non-streaming endpoint")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            problems.append("messages missing")
        for m in messages or []:
            if m.get("role") not in ROLES:
                problems.append(f"message role {m.get('role')!r}")
            content = m.get("content")
            if m.get("role") in ("system", "user") and not (
                    isinstance(content, str) or (isinstance(content, list) and all(
                        isinstance(c, dict) and c.get("type") == "text" and isinstance(c.get("text"), str)
                        for c in content))):
                problems.append(f"{m.get('role')} content is neither a string nor text blocks")
        for t in body.get("tools") or []:
            function = t.get("function") if isinstance(t, dict) else None
            if t.get("type") != "function" or not isinstance(function, dict) or not function.get("name") \
                    or not isinstance(function.get("parameters"), dict):
                problems.append(f"tool not in the v2 function shape: {json.dumps(t)[:120]}")
        fmt = body.get("response_format")
        if fmt is not None:
            if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object"):
                problems.append(f"response_format type {fmt!r}")
            elif set(fmt) - RESPONSE_FORMAT_FIELDS:
                problems.append(f"response_format field(s) {sorted(set(fmt) - RESPONSE_FORMAT_FIELDS)} "
                                "(the v2 reference names the schema 'json_schema')")
        if "max_tokens" in body and not (isinstance(body["max_tokens"], int) and body["max_tokens"] > 0):
            problems.append("max_tokens is not a positive integer")
        return problems

    async def chat(self, request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.requests.append(body if isinstance(body, dict) else {"invalid": True})
        problems = self.check(request, body)
        if problems:
            self.violations += problems
            self.replies.append(Reply(status=400, message="; ".join(problems)))
            return JSONResponse({"id": uuid.uuid4().hex, "message": "; ".join(problems)}, status_code=400)
        reply = self.script[min(len(self.requests) - 1, len(self.script) - 1)]
        self.replies.append(reply)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.status != 200:
            return JSONResponse({"id": uuid.uuid4().hex, "message": reply.message}, status_code=reply.status,
                                headers=reply.headers)
        prompt_words = sum(len(json.dumps(m.get("content", "")).split()) for m in body["messages"])
        message: dict[str, Any] = {"role": "assistant"}
        if reply.tool:
            message |= {"tool_plan": "I will answer with the requested structure.",
                        "tool_calls": [{"id": f"call_{uuid.uuid4().hex[:8]}", "type": "function",
                                        "function": {"name": reply.tool[0], "arguments": reply.tool[1]}}]}
            output = reply.tool[1]
        else:
            message["content"] = [{"type": "text", "text": reply.text or ""}]
            output = reply.text or ""
        out_words = len(output.split())
        return JSONResponse({
            "id": uuid.uuid4().hex, "finish_reason": reply.finish_reason, "message": message,
            # `tokens` include the prompt template Cohere adds; `billed_units` are what is charged.
            "usage": {"billed_units": {"input_tokens": prompt_words, "output_tokens": out_words},
                      "tokens": {"input_tokens": prompt_words + 20, "output_tokens": out_words}},
        })
