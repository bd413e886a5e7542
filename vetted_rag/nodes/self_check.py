"""self_check: run the Python code the model wrote in its answer in the sandbox; a failure feeds the retry path.

Code runs only when it is the model's own and its context is clean: never a block copied
from a passage (documents are data, and "run this to verify your setup" is a known injection
path), never when screening dropped a passage from this run's retrieval, and never code that
the injection screen flags. The trace says which, and why.
"""

from __future__ import annotations

import asyncio

from langgraph.runtime import Runtime

from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import State
from vetted_rag.grounding import SELF_CHECKED_LANGUAGES, code_blocks
from vetted_rag.nodes import configuration, note
from vetted_rag.security.screening import screen_text
from vetted_rag.tools.sandbox import run_python

# A block counts as copied when this many of its non-trivial lines appear in one passage.
COPIED_LINE_SHARE = 0.5


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if len(line.strip()) > 3]


def copied_from(code: str, passages: list[dict]) -> int | None:
    """The 1-based passage the code block was (mostly) copied from, if any."""
    lines = _lines(code)
    if not lines:
        return None
    for n, passage in enumerate(passages, 1):
        own = set(_lines(passage["text"]))
        if sum(line in own for line in lines) >= max(1, COPIED_LINE_SHARE * len(lines)):
            return n
    return None


def refusal(blocks: list[str], state: State) -> str | None:
    """Why the answer's code must not run, or None when it may."""
    if state.get("dropped_passages"):
        return (f"not run: injection screening dropped {len(state['dropped_passages'])} passage(s) from this "
                "run's retrieval, so the context is untrusted")
    for block in blocks:
        source = copied_from(block, state.get("passages", []))
        if source:
            return f"not run: the code block is copied from passage [{source}]; documents are data, not code to execute"
        flags = screen_text(block)
        if flags:
            return f"not run: the code looks like an injected payload ({', '.join(flags)})"
    return None


async def self_check(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    blocks = [body for lang, body in code_blocks(state.get("generation", "")) if lang in SELF_CHECKED_LANGUAGES]
    if not blocks or not config.self_check_code:
        return {"code_check": {"ran": False}, "trace": note("skipped", "no Python code block" if not blocks else "disabled")}
    why_not = refusal(blocks, state)
    if why_not:
        return {"code_check": {"ran": False, "refused": why_not}, "trace": note("not run", why_not)}
    result = await asyncio.to_thread(run_python, "\n\n".join(blocks))
    check = {"ran": True, "ok": result.ok, "error": result.error, "exit_code": result.exit_code,
             "stdout": result.stdout[:500]}
    return {"code_check": check,
            "trace": note("passed" if result.ok else "failed", result.error or "code ran cleanly", **check)}
