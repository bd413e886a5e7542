"""prepare: start a run — reset per-run counters (a checkpointed thread keeps old ones), screen the question."""

from __future__ import annotations

import time
import uuid

from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from vetted_rag.graph.configuration import FIXED_STEPS, STEPS_PER_ATTEMPT, Configuration
from vetted_rag.graph.state import State
from vetted_rag.nodes import configuration, note
from vetted_rag.security.screening import screen_question


async def prepare(state: State, runtime: Runtime[Configuration]) -> dict:
    config = configuration(runtime)
    question = (state.get("question") or "").strip()
    now = time.time()
    update = {
        "run_id": state.get("run_id") or uuid.uuid4().hex,
        "question": question,
        "started_at": now,
        "deadline": now + config.policy.max_execution_time_s,
        "query": question, "queries": [question], "standalone": "", "answers": [], "grades": [], "passages": [],
        "truncated": False, "grounded_attempt": {},
        "dropped_passages": [], "generation": "", "feedback": "", "code_check": {},
        "hallucination_grade": None, "answer_grade": None, "attempts": 0, "rewrites": 0,
        "status": None, "stop_reason": "", "answer": None, "citations": [], "cache": {},
        "usage": Overwrite({}), "trace": Overwrite([]),
    }
    refusal = screen_question(question, config.max_question_chars)
    if refusal:
        return update | {"status": "refused", "stop_reason": refusal, "trace": Overwrite(note("refuse", refusal))}
    if state.get("remaining_steps", 10**6) < FIXED_STEPS + STEPS_PER_ATTEMPT:
        reason = (f"recursion limit of {config.policy.effective_recursion_limit} steps is too low for one graded "
                  f"attempt (needs {FIXED_STEPS + STEPS_PER_ATTEMPT})")
        return update | {"status": "unverified", "stop_reason": reason, "trace": Overwrite(note("stop", reason))}
    return update | {"trace": Overwrite(note("start", "question accepted", chars=len(question)))}
