"""Choose the embedded default by measurement: each candidate GGUF answers the newcomer's questions
about the shipped docs (bench/sample_questions.py) in its own process; quality, time and peak memory.

Usage: python bench/models.py NAME=PATH.gguf [NAME=PATH.gguf ...]   (writes bench/results/models.json)
The packaged default needs no path: `qwen2.5-coder-1.5b=packaged`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent


def measure(name: str, path: str) -> dict:
    out = Path(tempfile.mkdtemp(prefix="vr-models-")) / f"{name}.json"
    env = dict(os.environ)
    if path != "packaged":
        env["VETTED_RAG_GGUF_PATH"] = path
    subprocess.run([sys.executable, str(HERE / "sample_questions.py"), "--out", str(out)], env=env, check=True)
    result = json.loads(out.read_text())
    return {"model": name, "file_bytes": os.path.getsize(path) if path != "packaged" else None,
            "answered_and_correct": result["answered_and_correct"], "answerable": result["answerable"],
            "answered_but_wrong": result["answered_but_wrong"], "unanswerable_answered": result["unanswerable_answered"],
            "seconds_p50_answered": result["seconds_p50_answered"], "seconds_p50_all": result["seconds_p50_all"],
            "peak_rss_gb": result["peak_rss_gb"]}


def main() -> None:
    rows = [measure(*arg.split("=", 1)) for arg in sys.argv[1:]]
    for row in rows:
        print(json.dumps(row))
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results/models.json").write_text(json.dumps({"models": rows}, indent=2))


if __name__ == "__main__":
    main()
