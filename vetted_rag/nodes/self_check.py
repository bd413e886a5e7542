"""self_check: run the answer's Python code blocks in the sandbox; a failure feeds the retry path."""

from __future__ import annotations

import asyncio
import re

from langgraph.runtime import Runtime

from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import State
from vetted_rag.nodes import configuration, note
from vetted_rag.tools.sandbox import run_python

PYTHON_BLOCK = re.compile(r"```(?:python|py)\s*\n(.*?)```", re.DOTALL | re.IGNORECASE)


async def self_check(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    blocks = PYTHON_BLOCK.findall(state.get("generation", ""))
    if not blocks or not config.self_check_code:
        return {"code_check": {"ran": False}, "trace": note("skipped", "no Python code block" if not blocks else "disabled")}
    result = await asyncio.to_thread(run_python, "\n\n".join(blocks))
    check = {"ran": True, "ok": result.ok, "error": result.error, "exit_code": result.exit_code,
             "stdout": result.stdout[:500]}
    return {"code_check": check,
            "trace": note("passed" if result.ok else "failed", result.error or "code ran cleanly", **check)}
