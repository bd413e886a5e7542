"""The re-read on HaluEval development rows: the right answer against another name, date or number from
the same passage (the generator's typical error: the right kind of thing in the wrong relation).

For each kind of candidate it reports how often the deterministic checks (support and answer check) pass
it, and how often the re-read (nodes/grade_answer.py, the packaged model picking again from the answer
and its rivals) keeps it. Usage: python bench/reread.py HALUEVAL_ROWS.jsonl [PAIRS]  -> bench/results/reread.json
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from random import Random

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vetted_rag.graph.configuration import Configuration  # noqa: E402
from vetted_rag.grounding import check_support, tokens  # noqa: E402
from vetted_rag.nodes.grade_answer import reread  # noqa: E402
from vetted_rag.relevance import check_relevance, expected_type, rival_answers  # noqa: E402


def cases(path: Path, rng: Random) -> list[tuple[str, str, str, bool]]:
    """(question, passage, answer, is_wrong): each row's answer and, where the passage has one, a rival of it."""
    out = []
    for line in path.read_text().splitlines():
        row = json.loads(line)
        question, passage, right = row["question"], row["knowledge"], row["right_answer"].strip()
        if expected_type(question) == "yes/no" or right.lower() in ("yes", "no"):
            continue
        rivals = [r for r in rival_answers(question, right, [{"text": passage}])
                  if not set(tokens(r)) & set(tokens(right))]
        if not rivals:
            continue
        out += [(question, passage, right, False), (question, passage, rng.choice(rivals), True)]
    return out


def checks_pass(question: str, passage: str, answer: str) -> bool:
    passages = [{"id": "1", "source": "s", "title": "", "text": passage}]
    return (check_support(answer + " [1]", passages, question=question).ok
            and check_relevance(question, answer + " [1]", passages).ok)


async def main() -> None:
    path, pairs = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 30
    rng = Random(0)
    every = cases(path, rng)
    right = [c for c in every if not c[3]]
    wrong = [c for c in every if c[3]]
    checks = {kind: sum(checks_pass(q, p, a) for q, p, a, _ in group) / len(group)
              for kind, group in (("right", right), ("wrong", wrong))}
    config = Configuration(chat_model="embedded")
    kept = {"right": 0, "wrong": 0}
    sample = rng.sample(right, pairs) + rng.sample(wrong, pairs)
    started = time.perf_counter()
    for question, passage, answer, is_wrong in sample:
        state = {"question": question, "generation": answer + " [1]", "grades": [],
                 "passages": [{"id": "1", "source": "s", "title": "", "text": passage}]}
        verdict = await reread(config, state)
        kept["wrong" if is_wrong else "right"] += verdict is None or verdict[0] == "yes"
    report = {
        "rows": path.name, "answers_with_rivals": len(right),
        "checks_pass": {kind: round(share, 3) for kind, share in checks.items()},
        "reread_pairs": pairs,
        "reread_keeps": {kind: round(n / pairs, 3) for kind, n in kept.items()},
        "reread_seconds_per_call_without_a_preceding_generation": round((time.perf_counter() - started) / (2 * pairs), 2),
    }
    out = ROOT / "bench" / "results" / "reread.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
