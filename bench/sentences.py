"""The support check on sentences a model writes: the embedded model rewrites HaluEval dev rows' right
and hallucinated answers as one sentence each (without the passage), and the check judges them
against the row's passage with the row's question. Writes bench/results/sentences.json.
Usage: python bench/sentences.py [N]   (rows sampled from 0-2999, seeded)
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from langchain_core.messages import HumanMessage, SystemMessage

from vetted_rag import Configuration
from vetted_rag.evaluation.datasets import halueval_rows
from vetted_rag.grounding import check_support
from vetted_rag.providers import load_chat_model

REWRITE = "Rewrite the given answer to the question as one complete, natural sentence. Keep the answer's facts; add nothing else."


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    rows = halueval_rows()
    model = load_chat_model("embedded", Configuration())
    kept = caught = 0
    for i in random.Random(7).sample(range(3000), n):
        row = rows[i]
        passage = [{"id": "1", "source": "", "title": "", "text": row["knowledge"]}]
        for kind in ("right_answer", "hallucinated_answer"):
            sentence = str(model.invoke([SystemMessage(REWRITE), HumanMessage(
                f"Question: {row['question']}\nAnswer: {row[kind]}\nSentence:")], max_tokens=60).content).strip()
            ok = check_support(sentence, passage, require_citations=False, question=row["question"]).ok
            kept += ok and kind == "right_answer"
            caught += not ok and kind == "hallucinated_answer"
    out = {"about": "the embedded model rewrote each row's right and hallucinated answer as one sentence, "
                    "without the passage", "rows": n, "right_kept": kept, "hallucinated_caught": caught}
    (Path(__file__).parent / "results/sentences.json").write_text(json.dumps(out, indent=2))
    print(out)


if __name__ == "__main__":
    main()
