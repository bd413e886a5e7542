"""The cache-hit path over HTTP, in one run on one server: `/healthz` (the floor), exact hits and
semantic hits on `/agent/invoke`, each at concurrency 8 on loopback, with an API key as in
production. Goals (issue 14): exact-hit throughput >= 30 % of /healthz, p99 <= 3 x p50; semantic
hits >= 15 %. Three interleaved rounds; the medians are reported. The heuristic model stores the
entries, graded as the embedded default is ('deterministic': a semantic hit is verified by the answer check;
under 'combined' grading it would also wait for one LLM grader call, whose cost is the grader's, not the cache's).
Usage: python bench/hit_path.py   -> bench/results/hit_path.json
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import services  # noqa: E402  (the engine starters the tests use)
from vetted_rag.evaluation.metrics import percentile  # noqa: E402

BIN = Path(sys.executable).parent
CONCURRENCY = 8
ROUNDS = 3
STORED = "How do I set a cost budget?"
PARAPHRASE = "How can I set a cost budget?"  # a semantic hit that the equivalence rule accepts


async def load(client: httpx.AsyncClient, method: str, path: str, body: dict | None, total: int) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(range(total))

    async def worker() -> None:
        for _ in queue:
            started = time.perf_counter()
            response = await client.request(method, path, json=body)
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    return {"requests": total, "statuses": statuses, "throughput_rps": round(total / elapsed, 1),
            "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 1)}


async def measure(url: str, secret: str) -> dict:
    headers = {"X-API-Key": secret}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        first = (await client.post("/agent/invoke", json={"input": {"question": STORED}})).json()["output"]
        assert first["status"] == "answered", first["stop_reason"]
        for question, kind in ((STORED, "exact"), (PARAPHRASE, "semantic")):
            out = (await client.post("/agent/invoke", json={"input": {"question": question}})).json()["output"]
            assert out["cache"].get("kind") == kind, (question, out["cache"])
        await load(client, "GET", "/healthz", None, 200)  # warm-up
        # Rounds interleave the three kinds, so a neighbour's burst on this shared machine hits one round of
        # each, not one kind; each round gives a share of /healthz, and the median share is reported.
        rounds = [{
            "healthz": await load(client, "GET", "/healthz", None, 1000),
            "exact_hit": await load(client, "POST", "/agent/invoke", {"input": {"question": STORED}}, 600),
            "semantic_hit": await load(client, "POST", "/agent/invoke", {"input": {"question": PARAPHRASE}}, 300),
        } for _ in range(ROUNDS)]
        return {"rounds": rounds}


def main() -> None:
    data = tempfile.mkdtemp(prefix="vetted-rag-hit-path-")
    env = {"VETTED_RAG_DATA_DIR": data, "VETTED_RAG_CHAT_MODEL": "heuristic", "VETTED_RAG_GRADING": "deterministic",
           "VETTED_RAG_LOG_LEVEL": "WARNING"}
    created = subprocess.run([str(BIN / "vetted-rag"), "keys", "create", "bench", "--rpm", "1000000", "--tpm",
                              "1000000000"], env={**os.environ, **env}, capture_output=True, text=True, check=True)
    with services.vetted_rag_server(env) as url:
        report = asyncio.run(measure(url, json.loads(created.stdout)["secret"]))
    for row in report["rounds"]:
        for kind in ("exact_hit", "semantic_hit"):
            row[kind]["share_of_healthz"] = round(row[kind]["throughput_rps"] / row["healthz"]["throughput_rps"], 3)
            row[kind]["p99_over_p50"] = round(row[kind]["p99_ms"] / row[kind]["p50_ms"], 2)
    for kind in ("healthz", "exact_hit", "semantic_hit"):
        rows = [row[kind] for row in report["rounds"]]
        report[kind] = {field: statistics.median(r[field] for r in rows) for field in rows[0] if field != "statuses"}
        report[kind]["statuses"] = dict(sum((Counter(r["statuses"]) for r in rows), Counter()))
    report["concurrency"] = CONCURRENCY
    out = ROOT / "bench" / "results" / "hit_path.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
