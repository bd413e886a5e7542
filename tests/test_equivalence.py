"""The semantic cache's equivalence rule: a cached answer is served only for the same question."""

import json
from pathlib import Path

import pytest

from vetted_rag.equivalence import same_question

DATA = Path(__file__).parents[1] / "bench/data"
PAIRS = json.loads((DATA / "question_pairs.json").read_text())
REWORDINGS = json.loads((DATA / "question_rewordings.json").read_text())
HARD_NEGATIVES = [n for pairs in (PAIRS, REWORDINGS) for split in ("dev", "held_out") for n in pairs[split]["hard_negative"]]


@pytest.mark.parametrize("cached, asked", PAIRS["dev"]["paraphrase"])
def test_paraphrases_are_the_same_question(cached, asked):
    verdict = same_question(asked, cached)
    assert verdict.same, verdict.reason


@pytest.mark.parametrize("cached, asked, kind", HARD_NEGATIVES)
def test_hard_negatives_are_never_the_same_question(cached, asked, kind):
    # Not even when the stored answer happens to mention the other question's words.
    verdict = same_question(asked, cached, cached_answer=f"{cached} {asked}")
    assert not verdict.same, f"{kind}: {verdict.reason}"


def test_a_rewording_the_stored_answer_covers_is_served():
    answer = "To set a cost budget, set the `max_cost_usd` field of the run policy [1]."
    assert same_question("How do I set a cost budget in the policy field?", "How do I set a cost budget?", answer).same
    assert not same_question("How do I set a cost budget in the config file?", "How do I set a cost budget?", answer).same


PORT = [{"id": "p", "text": "Run `vetted-rag serve`. The server listens on port 8000 by default; change it with `--port`."}]


def test_a_narrower_wording_may_add_words_of_the_passage_sentence_the_answer_comes_from():
    cached, asked = "What port does the server use by default?", "Which port does the server listen on by default?"
    assert same_question(asked, cached, "8000 [1]", PORT).same
    assert not same_question(asked, cached, "8000 [1]").same  # "listen" is in neither question nor answer


def test_a_substitution_is_a_different_question_even_when_the_passage_sentence_names_both():
    roles = [{"id": "r", "text": "Readers can ask questions, editors can ingest documents and admins can manage keys."}]
    cached, answer = "Which roles can ingest documents?", "Editors can ingest documents [1]."
    assert not same_question("Which roles can manage keys?", cached, answer, roles).same


def test_an_opposite_conflicts_only_with_its_counterpart():
    assert not same_question("How do I turn off authentication?", "How do I turn on authentication?").same
    assert not same_question("What is the maximum wall-clock limit?", "What is the default wall-clock limit?").same
    # A preposition or quantifier alone does not turn a question round.
    assert same_question("After how long do cache entries expire?", "How long do cache entries take to expire?").same
    assert same_question("How do I wipe all cached answers?", "How do I clear the cached answers?").same
    assert not same_question("How do I bypass the cache for every question?", "How do I bypass the cache for one question?").same


def test_roles_swapped_without_to_or_from_are_a_different_question():
    verdict = same_question("Can an admin key create a reader key?", "Can a reader key create an admin key?")
    assert not verdict.same and "swapped" in verdict.reason
    # Moving a phrase whole keeps the roles.
    assert same_question("Per run, what is the default token budget?", "What is the default token budget per run?").same


def test_a_hyphenated_word_is_a_word_not_a_name():
    assert same_question("What is the wall-clock limit by default?", "What is the default wall-clock limit?").same
    assert not same_question("How do I install redis-py?", "How do I install redis_py?").same


def test_turning_on_and_off_reads_as_enabling_and_disabling():
    assert same_question("How can I turn authentication on?", "How do I enable authentication?").same
    assert same_question("Is the cache turned on by default?", "Is the cache enabled by default?").same
    assert not same_question("How do I switch the cache off?", "How do I enable the cache?").same
    assert not same_question("How do I turn off authentication?", "How do I turn on authentication?").same


def test_a_word_replaced_in_an_otherwise_identical_question_is_a_conflict_no_judge_may_overrule():
    # The swapped words are what is asked about; a grader judge (cache_lookup) is never asked.
    for asked, cached in [("What is the default time budget per run?", "What is the default token budget per run?"),
                          ("Where is the audit log stored?", "Where is the knowledge base stored?"),
                          ("What is the timeout for one run?", "What is the timeout for one model call?")]:
        verdict = same_question(asked, cached)
        assert not verdict.same and verdict.conflict and "replaced" in verdict.reason, (asked, verdict)
    # A rewording that also adds or drops words is not a substitution: no conflict, so a judge may decide.
    verdict = same_question("After how much time do cached answers expire?", "How long are cache entries kept?")
    assert not verdict.same and not verdict.conflict
    # Synonyms are not substitutions.
    assert same_question("How can I list the latest runs?", "How do I show recent runs?").same
