"""Write HaluEval QA's development and held-out parts as JSONL files for `vetted-rag eval --dataset`:
rows 0-5999 (used to develop the checks) and 6000-8999 (held out). Rows from 9000 on are left
for checks from outside the project. Usage: python bench/halueval_splits.py OUTDIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vetted_rag.evaluation.datasets import halueval_rows


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rows = halueval_rows()
    for name, part in (("rows0-5999", rows[:6000]), ("rows6000-8999", rows[6000:9000])):
        (out / f"halueval-{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
        print(out / f"halueval-{name}.jsonl", len(part))


if __name__ == "__main__":
    main()
