"""Running the evaluation: the graded loop against plain retrieve → generate (the graph's own nodes, no
checks, no retry), and the checks alone on labelled data."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from dataclasses import asdict, replace
from random import Random
from typing import Any

from langgraph.runtime import Runtime

from vetted_rag.api import Agent
from vetted_rag.evaluation.datasets import EvalItem, EvalSet, halueval_evalset
from vetted_rag.evaluation.metrics import binary_metrics
from vetted_rag.evaluation.report import Record, score, summarise
from vetted_rag.graph.configuration import Configuration
from vetted_rag.grounding import check_support, citations_for, is_abstention, tokens
from vetted_rag.knowledge.store import open_knowledge_base
from vetted_rag.nodes import llm_verdict
from vetted_rag.nodes.generate import generate
from vetted_rag.nodes.retrieve import retrieve
from vetted_rag.nodes.schemas import GradeAnswer, GradeHallucination
from vetted_rag.prompts import answer_messages, hallucination_messages
from vetted_rag.relevance import check_relevance


async def run_graded(agent: Agent, item: EvalItem, config: Configuration) -> Record:
    started = time.perf_counter()
    result = await agent.aask(item.question, config=config)
    released = result.status == "answered" and bool(result.answer)
    answer = result.answer or ""
    return Record("graded", item.question, item.answerable, released, answer, result.status, result.iterations,
                  time.perf_counter() - started, int(result.usage.get("total_tokens", 0)), result.cost_usd,
                  [c["source"] for c in result.citations], released or not answer, score(item, answer, released))


async def run_baseline(item: EvalItem, config: Configuration) -> Record:
    """Plain RAG as most apps ship it: the graph's own retrieve and generate nodes (same retrieval,
    injection screening, prompt and model), released as generated: no checks, no retry."""
    started = time.perf_counter()
    runtime = Runtime(context=config)
    state: dict[str, Any] = {"question": item.question, "query": item.question}
    state |= await retrieve(state, runtime)
    passages = state["passages"]
    if passages:
        state |= await generate(state, runtime)
    answer, usage = state.get("generation", ""), state.get("usage", {})
    released = bool(answer) and not is_abstention(answer)
    faithful = not released or check_support(answer, passages, config.require_citations, question=item.question).ok
    return Record("baseline", item.question, item.answerable, released, answer, "released" if released else "abstained",
                  1 if passages else 0, time.perf_counter() - started, int(usage.get("total_tokens", 0)),
                  float(usage.get("cost_usd", 0.0)), [c["source"] for c in citations_for(answer, passages)],
                  faithful, score(item, answer, released))


# ---- summary -----------------------------------------------------------------------------------


def eval_config(config: Configuration, evalset: EvalSet) -> Configuration:
    """The evaluation's own collection (named by its content) with the cache off, so every run is measured."""
    digest = hashlib.sha256("\n".join(d.source for d in evalset.documents).encode()).hexdigest()[:8]
    collection = f"eval-{digest}" if evalset.documents else config.collection
    return replace(config, collection=collection, cache_enabled=False)


async def evaluate(evalset: EvalSet, config: Configuration, systems: tuple[str, ...] = ("graded", "baseline"),
                   progress: bool = True) -> dict[str, Any]:
    config = eval_config(config, evalset)
    if evalset.documents:
        kb = await asyncio.to_thread(open_knowledge_base, config)
        for doc in evalset.documents:
            await asyncio.to_thread(kb.add_document, doc)
    agent = Agent(config)
    records: list[Record] = []
    from tqdm import tqdm

    bar = tqdm(total=len(evalset.items) * len(systems), desc="eval", disable=not progress, unit="run")
    for item in evalset.items:
        for system in systems:
            records.append(await (run_graded(agent, item, config) if system == "graded" else run_baseline(item, config)))
            bar.update(1)
    bar.close()
    return {
        "dataset": evalset.name, "chat_model": config.chat_model, "grader_model": config.grader,
        "policy": asdict(config.policy),
        "systems": {s: summarise([r for r in records if r.system == s], evalset) for s in systems},
        "records": [asdict(r) for r in records],
    }


# ---- grader benchmark ----------------------------------------------------------------------------


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def grader_items(evalset: EvalSet, n: int, seed: int = 0) -> list[EvalItem]:
    """`n` labelled rows (with context and a reference answer), fixed by the seed."""
    usable = [i for i in evalset.items if i.context and i.answers]
    if not usable:
        raise ValueError(f"{evalset.name}: the grader benchmark needs rows with 'context' and 'answer'")
    return Random(seed).sample(usable, min(n, len(usable)))


def relevance_cases(items: list[EvalItem], seed: int = 0) -> list[tuple[EvalItem, str, bool, str]]:
    """(item, answer, does-not-answer, kind): each reference answer; another row's answer; and a
    sentence of the row's own passage that does not contain its answer."""
    rng = Random(seed)
    cases = []
    for position, item in enumerate(items):
        cases.append((item, item.answers[0], False, "reference answer"))
        if len(items) > 1:
            other = items[(position + 1 + rng.randrange(len(items) - 1)) % len(items)]
            cases.append((item, other.answers[0], True, "another question's answer"))
        gold = " ".join(tokens(item.answers[0]))
        sentences = [x for c in item.context for x in _SENTENCE.split(c)
                     if len(x.split()) > 4 and gold and gold not in " ".join(tokens(x))]
        if sentences:
            cases.append((item, rng.choice(sentences), True, "passage sentence that does not answer"))
    return cases


async def grader_benchmark(n: int, config: Configuration, seed: int = 0, progress: bool = True,
                           evalset: EvalSet | None = None, llm: bool | None = None) -> dict[str, Any]:
    """The checks (and, when `llm`, the LLM grader and the combined rule) on labelled data.

    hallucination: (context, reference answer) must pass, (context, hallucinated answer) must
    fail. relevance: see `relevance_cases`. Positive class: the failure to detect. `llm`
    defaults to whether the configured grading rule uses the LLM grader."""
    from tqdm import tqdm

    evalset = evalset or halueval_evalset()
    llm = config.grading_rule == "combined" if llm is None else llm
    items = grader_items(evalset, n, seed)
    found: dict[tuple[str, str], list[tuple[bool, bool]]] = {}

    def record(grader: str, task: str, truth: bool, flagged: bool) -> None:
        found.setdefault((grader, task), []).append((truth, flagged))

    bar = tqdm(total=len(items), desc="graders", disable=not progress, unit="row")
    for item in items:
        passages = [{"id": str(k), "source": s, "title": "", "text": c}
                    for k, (s, c) in enumerate(zip(item.gold_sources, item.context), 1)]
        candidates = [(item.answers[0], False)] + ([(item.hallucinated, True)] if item.hallucinated else [])
        for answer, hallucinated in candidates:
            supported = check_support(answer, passages, require_citations=False, question=item.question).ok
            record("support_check", "hallucination", hallucinated, not supported)
            if llm:
                llm_yes = (await llm_verdict(config, hallucination_messages(answer, passages),
                                             GradeHallucination))[0] == "yes"
                record("llm_grader", "hallucination", hallucinated, not llm_yes)
                record("combined", "hallucination", hallucinated, not (supported and llm_yes))
        bar.update(1)
    bar.close()
    for item, answer, off, _kind in relevance_cases(items, seed):
        passages = [{"id": "1", "source": "", "title": "", "text": c} for c in item.context]
        relevant = check_relevance(item.question, answer, passages).ok
        record("answer_check", "relevance", off, not relevant)
        if llm:
            llm_yes = (await llm_verdict(config, answer_messages(item.question, answer), GradeAnswer))[0] == "yes"
            record("llm_grader", "relevance", off, not llm_yes)
            record("combined", "relevance", off, not (relevant and llm_yes))
    default = {"support_check": True, "answer_check": True, "llm_grader": False,
               "combined": config.grading_rule == "combined"}
    if config.grading_rule == "combined":
        default.update({"support_check": False, "answer_check": False})
    graders = [{"grader": grader, "task": task, "default": default[grader], **binary_metrics(pairs)}
               for (grader, task), pairs in found.items()]
    return {"dataset": f"{evalset.name}-graders-{len(items)}-seed{seed}", "grader_model": config.grader,
            "grading_rule": config.grading_rule, "graders": graders}
