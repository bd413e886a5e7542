"""The semantic cache through the graph, on both backends (Chroma embedded, real Redis server):
exact and paraphrase hits, verification, scope, TTL, tenant isolation, corruption."""

import json
import subprocess
import time

import pytest
import redis

from tests.conftest import GOOD_ANSWER, NO, YES
from vetted_rag.cache import open_cache
from vetted_rag.cache.base import AnswerCache, entry_key, flush_all_counts, scope_of
from vetted_rag.knowledge.store import open_knowledge_base


@pytest.fixture(params=["chroma", "redis"])
def backend(request):
    if request.param == "chroma":
        return {"cache_backend": "chroma"}
    url = request.getfixturevalue("redis_url")
    flush_all_counts()  # counts still pending from earlier tests' caches must not land after the wipe
    redis.Redis.from_url(url).flushall()
    return {"cache_backend": "redis", "redis_url": url}

Q = "How do I set a cost budget?"
SCRIPT = {"text": [GOOD_ANSWER], "GradeHallucination": [YES], "GradeAnswer": [YES]}


def test_exact_hit_skips_the_model(scripted, backend):
    agent, model = scripted(dict(SCRIPT), cache_enabled=True, **backend)
    first = agent.ask(Q)
    calls = len(model.calls)
    second = agent.ask("  how do I SET a cost budget  ")
    assert first.status == second.status == "answered"
    assert second.cache["kind"] == "exact" and len(model.calls) == calls
    assert second.answer == first.answer and second.citations == first.citations


def test_paraphrase_hit_is_verified_then_served(scripted, backend):
    agent, model = scripted(dict(SCRIPT), cache_enabled=True, **backend)
    agent.ask(Q)
    hit = agent.ask("How can I set a cost budget?")
    assert hit.cache["hit"] and hit.cache["kind"] == "semantic" and hit.cache["verified"]
    assert model.count("text") == 1


def test_a_rewording_in_other_words_than_the_answer_is_served(scripted, backend):
    """The hit's check asks only for the kind of answer the new wording wants: the tie of the question's words
    to the answer was checked for the cached question, which the equivalence rule found asks the same thing."""
    key = "Create a key with `vetted-rag keys create NAME --role reader` [1]."
    agent, model = scripted({"text": [key], "GradeHallucination": [YES], "GradeAnswer": [YES]},
                            cache_enabled=True, **backend)
    assert agent.ask("How do I create an API key?").status == "answered"
    hit = agent.ask("What command generates a new API key?")
    assert hit.cache["hit"] and hit.cache["kind"] == "semantic" and hit.cache["verified"], hit.cache
    assert model.count("text") == 1


def test_hard_negative_rejected_by_verification(scripted, backend):
    agent, model = scripted({"text": [GOOD_ANSWER, "Set max_total_tokens to set a token budget [1]."],
                             "GradeHallucination": [YES], "GradeAnswer": [YES, NO, YES], "SameQuestion": [NO]},
                            cache_enabled=True, **backend, cache_similarity_threshold=0.5)
    agent.ask(Q)
    other = agent.ask("How do I set a token budget?")
    rejected = next(e for e in other.trace if e["node"] == "cache_lookup")
    assert rejected["decision"] == "rejected" and not other.cache["hit"]
    assert model.count("text") == 2


def test_a_broad_rewording_is_judged_by_the_llm_grader_under_combined_grading(scripted, backend):
    """"What setting caps the spending of one run?" shares no wording the rule can match with "How do I set
    a cost budget?"; under grading 'combined' the grader judges, and a 'no' keeps the hit out."""
    for verdict, served in ((YES, True), (NO, False)):
        agent, model = scripted({**SCRIPT, "SameQuestion": [verdict]}, cache_enabled=True, **backend,
                                cache_similarity_threshold=0.3)
        agent.ask(Q)
        hit = agent.ask("What setting caps the spending of one run?")
        assert model.count("SameQuestion") == 1 and hit.cache["hit"] is served, hit.cache
        # The judge's call is counted, served or not; a served hit's verification is counted beside it.
        lookup = next(e for e in hit.trace if e["node"] == "cache_lookup")
        assert lookup["usage"].get("calls") == (2 if served else 1), lookup["usage"]
        assert "grader: fine" in hit.cache["equivalence"] or "grader: not supported" in hit.cache["equivalence"]


def test_a_conflict_never_reaches_the_llm_grader(scripted, backend):
    agent, model = scripted({**SCRIPT, "SameQuestion": [YES]}, cache_enabled=True, **backend,
                            cache_similarity_threshold=0.3)
    agent.ask(Q)
    other = agent.ask("How do I remove a cost budget?")
    assert not other.cache["hit"] and model.count("SameQuestion") == 0
    assert "opposite" in other.cache["equivalence"], other.cache


def test_the_packaged_models_grading_never_asks_a_judge(scripted, backend):
    agent, model = scripted({**SCRIPT, "SameQuestion": [YES]}, cache_enabled=True, **backend,
                            cache_similarity_threshold=0.3, grading="deterministic")
    agent.ask(Q)
    hit = agent.ask("What setting caps the spending of one run?")
    assert not hit.cache["hit"] and model.count("SameQuestion") == 0


def test_unverified_answers_are_not_stored(scripted, backend):
    agent, model = scripted({"text": [GOOD_ANSWER], "GradeHallucination": [NO]}, cache_enabled=True, **backend,
                            policy={"max_iterations": 1})
    assert agent.ask(Q).status == "unverified"
    assert not agent.ask(Q).cache.get("hit")


def test_ingest_invalidates(scripted, backend, tmp_path):
    agent, _ = scripted(dict(SCRIPT), cache_enabled=True, **backend)
    agent.ask(Q)
    extra = tmp_path / "new.md"
    extra.write_text("# Bees\n\nBees make honey from nectar.")
    open_knowledge_base(agent.config).ingest_paths([extra])
    assert not agent.ask(Q).cache.get("hit")


def test_changes_by_another_process_are_seen_within_the_coherence_time(scripted, backend, tmp_path):
    """An exact entry read from the shared store is trusted for `cache_coherence_s`; a clear or an ingest
    made elsewhere (another replica, the CLI) shows once that time has passed."""
    agent, model = scripted(dict(SCRIPT), cache_enabled=True, **backend, cache_coherence_s=0.5)
    agent.ask(Q)
    elsewhere = type(open_cache(agent.config))(agent.config)  # a second handle, as another process holds
    assert elsewhere.clear() == 1
    assert agent.ask(Q).cache.get("kind") == "exact"  # held in memory, within the coherence time
    time.sleep(0.6)
    assert not agent.ask(Q).cache.get("hit")  # re-read: cleared

    agent.ask(Q)  # stored again by the miss above; now another process ingests
    extra = tmp_path / "bees.md"
    extra.write_text("# Bees\n\nBees make honey from nectar.")
    type(open_knowledge_base(agent.config))(agent.config).ingest_paths([extra])
    time.sleep(0.6)
    assert not agent.ask(Q).cache.get("hit")  # the fingerprint was re-read, so the old scope no longer matches


def test_a_paraphrase_of_another_process_entry_hits_within_the_coherence_time(scripted, backend):
    """The semantic tier searches the scope's vectors held in memory, re-read once per `cache_coherence_s`:
    an entry stored elsewhere becomes a semantic hit here within that time; this process's own at once."""
    agent, _ = scripted(dict(SCRIPT), cache_enabled=True, **backend, cache_coherence_s=0.5)
    agent.ask("How do I rotate an API key?")  # a miss: the scope's vectors are now held
    elsewhere = type(open_cache(agent.config))(agent.config)
    assert elsewhere.store(Q, GOOD_ANSWER, [], [], {})
    time.sleep(0.6)
    hit = agent.ask("How can I set a cost budget?")
    assert hit.cache.get("kind") == "semantic" and hit.cache["entry_question"] == Q


def test_an_absence_is_trusted_for_the_coherence_time_like_an_entry(scripted, backend):
    """A question read as absent is not read again within `cache_coherence_s` (a repeated paraphrase goes
    straight to the semantic tier); an entry stored by another process shows once that time has passed."""
    agent, _ = scripted(dict(SCRIPT), cache_enabled=True, **backend, cache_coherence_s=0.5)
    cache = open_cache(agent.config)
    assert cache.lookup(Q) is None
    assert type(cache)(agent.config).store(Q, GOOD_ANSWER, [], [], {})  # another process
    assert cache.lookup(Q) is None
    time.sleep(0.6)
    hit = cache.lookup(Q)
    assert hit is not None and hit.kind == "exact"


def test_a_scope_too_large_to_hold_is_searched_by_the_store(scripted, backend, monkeypatch):
    monkeypatch.setattr(AnswerCache, "INDEX_ENTRIES", 0)
    agent, model = scripted(dict(SCRIPT), cache_enabled=True, **backend)
    agent.ask(Q)
    cache = open_cache(agent.config)
    assert cache._scope_vectors(scope_of(agent.config), 0) is None
    hit = agent.ask("How can I set a cost budget?")
    assert hit.cache.get("kind") == "semantic" and model.count("text") == 1


@pytest.mark.parametrize("coherence_s", [0, 60])
def test_an_expired_nearest_entry_gives_way_to_the_next_and_is_dropped(scripted, backend, coherence_s):
    """Read afresh (coherence 0), an expired entry is not among the scope's vectors; held (60 s), the index
    still lists it when it expires, so the lookup skips it and drops it from the store."""
    agent, _ = scripted(dict(SCRIPT), cache_enabled=True, **backend, cache_coherence_s=coherence_s,
                        cache_similarity_threshold=0.3)
    cache = open_cache(agent.config)
    elsewhere = type(cache)(agent.config)  # stored by another process: not held by this one
    for question in (Q, "How do I set a token budget?"):
        assert elsewhere.store(question, GOOD_ANSWER, [], [], {})
    scope = scope_of(agent.config)
    nearest = entry_key(scope, Q)
    cache._held_index(scope)  # read before the entry expires (held when coherence_s > 0)
    if backend["cache_backend"] == "chroma":
        cache._collection.update(ids=[nearest], metadatas=[{"expires_at": time.time() - 1}])
    else:
        redis.Redis.from_url(backend["redis_url"]).delete(f"{cache._prefix}:entry:{nearest}")
    hit = cache.lookup("How can I set a cost budget?")
    assert hit is not None and hit.kind == "semantic" and hit.question == "How do I set a token budget?"
    assert nearest not in cache._scope_vectors(scope, 10)[0]
    if coherence_s and backend["cache_backend"] == "chroma":
        assert not cache._collection.get(ids=[nearest])["ids"]  # dropped, not only filtered out


def test_ttl_expiry(scripted, backend):
    agent, _ = scripted(dict(SCRIPT), cache_enabled=True, **backend, cache_ttl_s=1)
    agent.ask(Q)
    assert agent.ask(Q).cache.get("hit")
    time.sleep(1.2)
    assert not agent.ask(Q).cache.get("hit")


def test_tenants_are_isolated(scripted, backend, data_dir):
    agent_a, _ = scripted(dict(SCRIPT), cache_enabled=True, **backend, tenant="public")
    agent_a.ask(Q)
    agent_b, _ = scripted(dict(SCRIPT), cache_enabled=True, **backend, tenant="acme")
    result = agent_b.ask(Q)
    assert not result.cache.get("hit") and result.status == "unverified"  # acme's collection is empty


def test_corrupt_cache_degrades_to_a_miss(scripted, backend):
    # cache_coherence_s=0: every lookup reads the store, which is corrupted behind the cache's back.
    agent, _ = scripted(dict(SCRIPT), cache_enabled=True, **backend, cache_coherence_s=0)
    agent.ask(Q)
    cache = open_cache(agent.config)
    if backend["cache_backend"] == "chroma":
        cache._collection.update(ids=cache._collection.get()["ids"], metadatas=[{"passages": "{not json"}])
    else:
        client = redis.Redis.from_url(backend["redis_url"])
        for key in client.scan_iter(match="vetted-rag:cache:*:entry:*"):
            client.set(key, b"{not json")
    result = agent.ask(Q)
    assert result.status == "answered" and not result.cache.get("hit")
    assert "treated as a miss" in result.cache["warning"]


def test_unreachable_redis_is_a_miss_not_a_failure(scripted):
    agent, _ = scripted(dict(SCRIPT), cache_enabled=True, cache_backend="redis", redis_url="redis://127.0.0.1:1/0")
    result = agent.ask(Q)
    assert result.status == "answered" and "treated as a miss" in result.cache["warning"]


def test_stats_count_hits_and_savings(scripted, backend):
    agent, _ = scripted(dict(SCRIPT), cache_enabled=True, prices_per_million={"scripted": [10.0, 10.0]}, **backend)
    first = agent.ask(Q)
    agent.ask(Q)
    stats = open_cache(agent.config).stats()
    assert stats["entries"] == 1 and stats["exact_hits"] == 1 and stats["misses"] == 1
    assert stats["cost_saved_usd"] == pytest.approx(first.cost_usd)
    assert stats["tokens_saved"] == first.usage["total_tokens"] > 0


def test_stats_persist_for_another_process(scripted, backend):
    """`vetted-rag cache stats` runs in a new process: it must see the counts of earlier ones."""
    import os
    import sys

    agent, _ = scripted(dict(SCRIPT), cache_enabled=True, **backend)
    agent.ask(Q)
    agent.ask(Q)
    time.sleep(open_cache(agent.config).COUNTS_FLUSH_S + 0.5)  # counts are written in batches, within this time
    env_flags = ["--data-dir", str(agent.config.data_path)]
    # The settings of the process that stored the entries.
    env = {"VETTED_RAG_CACHE_BACKEND": agent.config.cache_backend, "VETTED_RAG_REDIS_URL": agent.config.redis_url or "",
           "VETTED_RAG_CHAT_MODEL": agent.config.chat_model}
    out = subprocess.run([sys.executable, "-m", "vetted_rag.cli", "cache", "stats", *env_flags],
                         capture_output=True, text=True, timeout=120, env={**os.environ, **env})
    stats = json.loads(out.stdout)
    assert stats["exact_hits"] >= 1 and stats["misses"] >= 1 and stats["stored"] >= 1, (stats, out.stderr)


def test_cached_answers_are_redacted_when_answers_are(scripted, backend):
    from vetted_rag.knowledge.store import SourceDocument, open_knowledge_base

    leaky = "To raise a cost budget, mail the budget owner at budget-owner@example.com [1]."
    agent, _ = scripted({"text": [leaky], "GradeHallucination": [YES], "GradeAnswer": [YES]}, cache_enabled=True,
                        redact_answers=True, **backend)
    open_knowledge_base(agent.config).add_document(SourceDocument(
        "owners.md", "Budget owners", "To raise a cost budget, mail the budget owner at budget-owner@example.com."))
    question = "Whom do I mail to raise a cost budget?"
    first = agent.ask(question)
    assert first.status == "answered" and "[EMAIL]" in first.answer, first.stop_reason
    hit = agent.ask(question)
    assert hit.cache["hit"] and "budget-owner@example.com" not in hit.model_dump_json()


def test_cache_savings_reach_the_metrics(scripted, backend):
    from prometheus_client import REGISTRY

    agent, _ = scripted(dict(SCRIPT), cache_enabled=True, **backend)
    before = REGISTRY.get_sample_value("vetted_rag_cache_saved_tokens_total") or 0.0
    first = agent.ask(Q)
    agent.ask(Q)
    assert REGISTRY.get_sample_value("vetted_rag_cache_saved_tokens_total") == before + first.usage["total_tokens"]
