"""Load benchmark: a mixed workload against one replica and against two replicas that share Redis
(answer cache, rate-limit windows), PostgreSQL (threads, traces) and a Chroma server (knowledge
base) — all real engines started here, loopback only, bounded in requests and time.

Workload per scenario: cache hits, misses that run the full graded loop, malformed
and over-limit requests, and a rate-limited key, mixed, 16 requests in flight. Reported per kind: throughput, p50/p95/p99,
queue waits, 429/503 counts. Asserted from the results: zero 5xx other than `busy` 503s; every
run (answered, or ended `busy`: its 503 names it in `X-Run-Id`) stored exactly once as a trace; an answer stored by replica A is a hit on B; the
replicas together respect one rate limit. `tests/test_load.py` runs a small version in CI
(correctness only). Usage:

    python bench/load.py                      # heuristic model: serving overhead, not generation
    python bench/load.py --model-server       # full runs on the packaged model behind one shared
                                              # llama.cpp server (queueing and 503s under real load)
-> bench/results/load.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import services  # noqa: E402  (the same engine starters the tests use)
from vetted_rag.evaluation.metrics import percentile  # noqa: E402

BIN = Path(sys.executable).parent
STORED = "How do I set a cost budget?"
LIMITED_RPM = 5


def ms(values: list[float], q: float) -> float | None:
    seconds = percentile(values, q)
    return None if seconds is None else round(seconds * 1000, 1)


CONCURRENCY = 16  # clients in flight at once


class Recorder:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._slots = asyncio.Semaphore(CONCURRENCY)

    async def call(self, client: httpx.AsyncClient, kind: str, url: str, **request: Any) -> httpx.Response:
        async with self._slots:
            started = time.perf_counter()
            response = await client.post(url + "/agent/invoke", **request)
            row = {"kind": kind, "status": response.status_code, "seconds": time.perf_counter() - started}
        if response.status_code == 200:
            output = response.json()["output"]
            row |= {"run_id": output["run_id"], "run_status": output["status"], "queued_s": output["queued_s"],
                    "cache": output["cache"].get("kind")}
        elif response.status_code == 503:  # busy: a run that ended without a model slot, traced like any
            row |= {"run_id": response.headers.get("x-run-id"), "run_status": "busy"}
        self.rows.append(row)
        return response

    def summary(self, elapsed: float) -> dict[str, Any]:
        kinds: dict[str, Any] = {}
        for kind in sorted({r["kind"] for r in self.rows}):
            rows = [r for r in self.rows if r["kind"] == kind]
            seconds = [r["seconds"] for r in rows]
            kinds[kind] = {"requests": len(rows), "statuses": _count(r["status"] for r in rows),
                           "run_statuses": _count(r["run_status"] for r in rows if "run_status" in r),
                           "p50_ms": ms(seconds, 0.5), "p95_ms": ms(seconds, 0.95),
                           "p99_ms": ms(seconds, 0.99),
                           "queue_wait_max_s": max((r.get("queued_s", 0.0) for r in rows), default=0.0)}
        return {"elapsed_s": round(elapsed, 1), "throughput_rps": round(len(self.rows) / elapsed, 1),
                "by_kind": kinds, "status_429": sum(r["status"] == 429 for r in self.rows),
                "status_503": sum(r["status"] == 503 for r in self.rows),
                "status_5xx_other": sum(r["status"] >= 500 and r["status"] != 503 for r in self.rows)}


def _count(values) -> dict[str, int]:
    return dict(Counter(str(v) for v in values))


async def workload(urls: list[str], secret: str, limited: str, questions: list[str], hits: int) -> Recorder:
    rec = Recorder()
    headers = {"X-API-Key": secret}
    async with httpx.AsyncClient(headers=headers, timeout=600) as client:
        # An answer stored through the first replica...
        first = await rec.call(client, "warm", urls[0], json={"input": {"question": STORED}})
        assert first.status_code == 200 and first.json()["output"]["status"] == "answered", first.text
        # ...is a hit on every replica.
        for url in urls:
            again = await rec.call(client, "hit", url, json={"input": {"question": STORED}})
            assert again.json()["output"]["cache"].get("hit"), (url, again.json()["output"]["cache"])
        tasks = [rec.call(client, "miss", urls[i % len(urls)], json={"input": {"question": q}})
                 for i, q in enumerate(questions)]
        tasks += [rec.call(client, "hit", urls[i % len(urls)], json={"input": {"question": STORED}})
                  for i in range(hits)]
        tasks += [rec.call(client, "malformed", urls[i % len(urls)], content=body,
                           headers={"content-type": "application/json"})
                  for i, body in enumerate([b"{not json", b'{"input": {}}', b"\xff\xfe", b'{"input": {"question": "x", "evil": 1}}'])]
        tasks += [rec.call(client, "over_limit", url, json={"input": {"question": "why? " * 500}}) for url in urls]
        await asyncio.gather(*tasks)
        # One key, LIMITED_RPM requests a minute, asked through every replica in turn.
        for i in range(2 * LIMITED_RPM):
            await rec.call(client, "rate_limited", urls[i % len(urls)], json={"input": {"question": STORED}},
                           headers={"X-API-Key": limited})
    return rec


def stored_run_ids(postgres_url: str) -> list[str]:
    import psycopg

    with psycopg.connect(postgres_url) as db:
        return [row[0] for row in db.execute("SELECT run_id FROM runs")]


def check(rec: Recorder, postgres_url: str, replicas: int) -> dict[str, Any]:
    """The correctness assertions, on the recorded rows and the shared trace store."""
    accepted = [r["run_id"] for r in rec.rows if r["status"] in (200, 503)]  # every run, answered or busy
    stored = stored_run_ids(postgres_url)
    problems = []
    if any(r["status"] >= 500 and r["status"] != 503 for r in rec.rows):
        problems.append("a 5xx other than busy")
    if len(set(accepted)) != len(accepted):
        problems.append("a run id was returned twice")
    if sorted(stored) != sorted(accepted):
        problems.append(f"traces: {len(stored)} stored for {len(accepted)} accepted runs")
    limited = [r for r in rec.rows if r["kind"] == "rate_limited"]
    if sum(r["status"] == 200 for r in limited) != LIMITED_RPM or sum(r["status"] == 429 for r in limited) != LIMITED_RPM:
        problems.append(f"rate limit across {replicas} replica(s): {_count(r['status'] for r in limited)}")
    if any(r["status"] not in (400, 422) for r in rec.rows if r["kind"] in ("malformed", "over_limit")):
        problems.append("a malformed or over-limit request was not a 4xx")
    return {"accepted_runs": len(accepted), "stored_traces": len(stored), "problems": problems}


@contextlib.contextmanager
def deployment(replicas: int, model_env: dict[str, str]):
    """`replicas` x `vetted-rag serve` sharing Redis, PostgreSQL and a Chroma server; yields
    (urls, reader secret, rate-limited secret, postgres_url)."""
    with services.redis_server() as redis_url, services.postgres_server() as postgres_url, \
            services.chroma_server() as chroma_url, contextlib.ExitStack() as stack:
        dirs = [Path(tempfile.mkdtemp(prefix=f"vr-replica{i}-")) for i in range(replicas)]
        env = {"VETTED_RAG_CHROMA_URL": chroma_url, "VETTED_RAG_POSTGRES_URL": postgres_url,
               "VETTED_RAG_CACHE_BACKEND": "redis", "VETTED_RAG_REDIS_URL": redis_url,
               "VETTED_RAG_LOG_LEVEL": "WARNING", **model_env}
        keys = []
        for name, rpm in (("load", 100_000), ("limited", LIMITED_RPM)):
            out = subprocess.run([str(BIN / "vetted-rag"), "keys", "create", name, "--rpm", str(rpm), "--tpm",
                                  "1000000000", "--data-dir", str(dirs[0])], capture_output=True, text=True, check=True,
                                 env={**os.environ, **env})
            keys.append(json.loads(out.stdout)["secret"])
        for other in dirs[1:]:  # the replicas share the key store's content (its own file each)
            shutil.copy(dirs[0] / "keys.sqlite", other / "keys.sqlite")
        urls = [stack.enter_context(services.vetted_rag_server({**env, "VETTED_RAG_DATA_DIR": str(d)})) for d in dirs]
        yield urls, keys[0], keys[1], postgres_url


def scenario(replicas: int, questions: list[str], hits: int, model_env: dict[str, str]) -> dict[str, Any]:
    with deployment(replicas, model_env) as (urls, secret, limited, postgres_url):
        started = time.perf_counter()
        rec = asyncio.run(workload(urls, secret, limited, questions, hits))
        report = rec.summary(time.perf_counter() - started)
        report["checks"] = check(rec, postgres_url, replicas)
    return report


@contextlib.contextmanager
def model(model_server: bool):
    if not model_server:
        yield {"VETTED_RAG_CHAT_MODEL": "heuristic"}
        return
    with services.model_server() as base_url:
        yield {"VETTED_RAG_CHAT_MODEL": "openai:qwen2.5-coder-1.5b", "VETTED_RAG_MODEL_BASE_URL": base_url,
               "VETTED_RAG_ADMISSION_WAIT_S": "20"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-server", action="store_true")
    parser.add_argument("--hits", type=int, default=200)
    args = parser.parse_args()
    questions = [q["question"] for q in json.loads((ROOT / "vetted_rag/sample_kb/questions.json").read_text())
                 ["answerable"]][1:]
    questions = questions[:4] if args.model_server else questions
    report: dict[str, Any] = {"model": "model-server" if args.model_server else "heuristic"}
    with model(args.model_server) as model_env:
        for replicas in (1, 2):
            report[f"replicas_{replicas}"] = scenario(replicas, questions, args.hits, model_env)
    name = "load_model_server.json" if args.model_server else "load.json"
    (ROOT / "bench" / "results" / name).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    problems = [p for r in (1, 2) for p in report[f"replicas_{r}"]["checks"]["problems"]]
    if problems:
        raise SystemExit("FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    main()
