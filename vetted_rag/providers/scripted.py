"""A deterministic chat model driven by a script: for control-flow tests and the CI eval gate.

The script maps a call kind to a list of replies, consumed in order (the last one
repeats). The kind is the structured-output schema's name (`GradeHallucination`,
`GradeAnswer`, `RewrittenQuestion`) or `"text"` for plain generation. A reply is a string
(the model's text), a dict or Pydantic object (sent as JSON), an exception instance
(raised, to simulate provider failures), `HANG` (never answers), or a callable
`(messages) -> reply`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import BaseModel, Field, PrivateAttr

from vetted_rag.grounding import check_support, content_words
from vetted_rag.prompts import ABSTAIN
from vetted_rag.providers.structured import structured_runnable

HANG = "__hang__"


class ScriptedChatModel(BaseChatModel):
    """Replies from `script`; records every call in `calls` as (kind, messages)."""

    script: dict[str, Any] = Field(default_factory=dict)
    name_for_pricing: str = "scripted"
    _cursor: dict[str, int] = PrivateAttr(default_factory=dict)
    calls: list[tuple[str, list[BaseMessage]]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def model_name(self) -> str:
        return self.name_for_pricing

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.calls if k == kind)

    def _next_reply(self, kind: str, messages: list[BaseMessage]) -> Any:
        self.calls.append((kind, messages))
        replies = self.script.get(kind, self.script.get("*"))
        if replies is None:
            raise KeyError(f"the script has no reply for {kind!r}")
        if callable(replies):
            return replies(messages)
        if not isinstance(replies, list):
            return replies
        i = self._cursor.get(kind, 0)
        self._cursor[kind] = i + 1
        reply = replies[min(i, len(replies) - 1)]
        return reply(messages) if callable(reply) else reply

    def _message(self, reply: Any, messages: list[BaseMessage]) -> AIMessage:
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, BaseModel):
            reply = reply.model_dump()
        text = reply if isinstance(reply, str) else json.dumps(reply)
        prompt_words = sum(len(str(m.content).split()) for m in messages)
        out_words = len(text.split())
        return AIMessage(
            content=text,
            usage_metadata={"input_tokens": prompt_words, "output_tokens": out_words,
                            "total_tokens": prompt_words + out_words},
            response_metadata={"model_name": self.name_for_pricing},
        )

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        reply = self._next_reply(kwargs.get("schema_name", "text"), messages)
        while reply == HANG:  # a sync hang can only be bounded by the caller's thread policy
            time.sleep(0.05)
        return ChatResult(generations=[ChatGeneration(message=self._message(reply, messages))])

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: Any = None, **kwargs: Any) -> ChatResult:
        reply = self._next_reply(kwargs.get("schema_name", "text"), messages)
        if reply == HANG:
            await asyncio.Event().wait()  # cancellable, like a network call that never returns
        return ChatResult(generations=[ChatGeneration(message=self._message(reply, messages))])

    def with_structured_output(
        self, schema: Any, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, Any]:
        return structured_runnable(self.bind(schema_name=schema.__name__), schema, include_raw)


def extractive_answer(messages: list[BaseMessage]) -> str:
    """A reply that copies the passage sentence sharing most words with the question and cites
    it: grounded by construction (or an abstention without passages)."""
    prompt = str(messages[-1].content)
    asked = content_words(_fields(messages).get("question", ""))
    best, best_score = "", 0
    for number, text in re.findall(r"<passage (\d+)>\s*(.*?)\s*</passage \1>", prompt, re.DOTALL):
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith(("#", "|", "```"))]
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(lines)):
            score = len(asked & content_words(sentence))
            if score > best_score and len(sentence.split()) > 3:
                best, best_score = f"{sentence.rstrip('.').strip()} [{number}].", score
    return best or ABSTAIN


_FIELD = re.compile(r"^(Question|Answer): (.*)$", re.M)


def _fields(messages: list[BaseMessage]) -> dict[str, str]:
    return {k.lower(): v for k, v in _FIELD.findall(str(messages[-1].content))}


def _passages(messages: list[BaseMessage]) -> list[dict]:
    blocks = re.findall(r"<passage (\d+)>\s*(.*?)\s*</passage \1>", str(messages[-1].content), re.DOTALL)
    return [{"id": n, "source": n, "text": text} for n, text in blocks]


def heuristic_grounding(messages: list[BaseMessage]) -> dict:
    answer = _fields(messages).get("answer", "")
    report = check_support(answer, _passages(messages), require_citations=True)
    return {"binary_score": "yes" if report.ok else "no", "reason": report.reason}


def heuristic_relevance(messages: list[BaseMessage]) -> dict:
    found = _fields(messages)
    shared = content_words(found.get("question", "")) & content_words(found.get("answer", ""))
    return {"binary_score": "yes" if shared else "no",
            "reason": f"shares {', '.join(sorted(shared)[:5])}" if shared else "shares no content word with the question"}


def heuristic_rewrite(messages: list[BaseMessage]) -> dict:
    """A retrieval rewrite: the question's content words. A follow-up: the follow-up with the
    previous question's words added (enough to retrieve the right passages)."""
    prompt = str(messages[-1].content)
    follow_up = re.search(r"^Follow-up question: (.*)$", prompt, re.M)
    if follow_up:
        earlier = re.findall(r"^User: (.*)$", prompt, re.M)
        return {"question": f"{follow_up.group(1).rstrip('?')} ({earlier[-1].rstrip('?') if earlier else ''})?"}
    return {"question": " ".join(sorted(content_words(_fields(messages).get("question", ""))))}


def heuristic_model() -> ScriptedChatModel:
    """`chat_model="heuristic"`: a deterministic, model-free baseline for CI, offline demos
    and `langgraph dev` tests. It answers with the first sentence of passage 1 and grades
    by word overlap. It is not a language model; use it to test the machinery, not quality."""
    return ScriptedChatModel(name_for_pricing="heuristic", script={
        "text": extractive_answer, "GradeHallucination": heuristic_grounding,
        "GradeAnswer": heuristic_relevance, "RewrittenQuestion": heuristic_rewrite})
