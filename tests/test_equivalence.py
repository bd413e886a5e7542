"""The semantic cache's equivalence rule: a cached answer is served only for the same question."""

import json
from pathlib import Path

import pytest

from vetted_rag.equivalence import same_question

PAIRS = json.loads((Path(__file__).parents[1] / "bench/data/question_pairs.json").read_text())


@pytest.mark.parametrize("cached, asked", PAIRS["dev"]["paraphrase"])
def test_paraphrases_are_the_same_question(cached, asked):
    verdict = same_question(asked, cached)
    assert verdict.same, verdict.reason


@pytest.mark.parametrize("cached, asked, kind", PAIRS["dev"]["hard_negative"] + PAIRS["held_out"]["hard_negative"])
def test_hard_negatives_are_never_the_same_question(cached, asked, kind):
    # Not even when the stored answer happens to mention the other question's words.
    verdict = same_question(asked, cached, cached_answer=f"{cached} {asked}")
    assert not verdict.same, f"{kind}: {verdict.reason}"


def test_a_rewording_the_stored_answer_covers_is_served():
    answer = "To set a cost budget, set the `max_cost_usd` field of the run policy [1]."
    assert same_question("How do I set a cost budget in the policy field?", "How do I set a cost budget?", answer).same
    assert not same_question("How do I set a cost budget in the config file?", "How do I set a cost budget?", answer).same
