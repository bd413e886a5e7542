"""The semantic cache through the graph: exact and paraphrase hits, verification, scope, TTL, corruption."""

from tests.conftest import GOOD_ANSWER, NO, YES
from vetted_rag.knowledge_base import open_knowledge_base

Q = "How do I set a cost budget?"
SCRIPT = {"text": [GOOD_ANSWER], "GradeHallucination": [YES], "GradeAnswer": [YES]}


def test_exact_hit_skips_the_model(scripted):
    agent, model = scripted(dict(SCRIPT), cache_enabled=True)
    first = agent.ask(Q)
    calls = len(model.calls)
    second = agent.ask("  how do I SET a cost budget  ")
    assert first.status == second.status == "answered"
    assert second.cache["kind"] == "exact" and len(model.calls) == calls
    assert second.answer == first.answer and second.citations == first.citations


def test_paraphrase_hit_is_verified_then_served(scripted):
    agent, model = scripted(dict(SCRIPT), cache_enabled=True)
    agent.ask(Q)
    hit = agent.ask("How can I set a cost budget?")
    assert hit.cache["hit"] and hit.cache["kind"] == "semantic" and hit.cache["verified"]
    assert model.count("text") == 1


def test_hard_negative_rejected_by_verification(scripted):
    agent, model = scripted({"text": [GOOD_ANSWER, "Set max_total_tokens to set a token budget [1]."],
                             "GradeHallucination": [YES], "GradeAnswer": [YES, NO, YES]},
                            cache_enabled=True, cache_similarity_threshold=0.5)
    agent.ask(Q)
    other = agent.ask("How do I set a token budget?")
    rejected = next(e for e in other.trace if e["node"] == "cache_lookup")
    assert rejected["decision"] == "rejected" and not other.cache["hit"]
    assert model.count("text") == 2


def test_unverified_answers_are_not_stored(scripted):
    agent, model = scripted({"text": [GOOD_ANSWER], "GradeHallucination": [NO]}, cache_enabled=True,
                            policy={"max_iterations": 1})
    assert agent.ask(Q).status == "unverified"
    assert not agent.ask(Q).cache.get("hit")


def test_ingest_invalidates(scripted, tmp_path):
    agent, _ = scripted(dict(SCRIPT), cache_enabled=True)
    agent.ask(Q)
    extra = tmp_path / "new.md"
    extra.write_text("# Bees\n\nBees make honey from nectar.")
    open_knowledge_base(agent.config).ingest_paths([extra])
    assert not agent.ask(Q).cache.get("hit")


def test_ttl_expiry(scripted):
    agent, _ = scripted(dict(SCRIPT), cache_enabled=True, cache_ttl_s=-1)
    agent.ask(Q)
    assert not agent.ask(Q).cache.get("hit")


def test_tenants_are_isolated(scripted, data_dir):
    agent_a, _ = scripted(dict(SCRIPT), cache_enabled=True, tenant="public")
    agent_a.ask(Q)
    agent_b, _ = scripted(dict(SCRIPT), cache_enabled=True, tenant="acme")
    result = agent_b.ask(Q)
    assert not result.cache.get("hit") and result.status == "unverified"  # acme's collection is empty


def test_corrupt_cache_degrades_to_a_miss(scripted):
    from vetted_rag.cache import open_cache

    agent, _ = scripted(dict(SCRIPT), cache_enabled=True)
    agent.ask(Q)
    cache = open_cache(agent.config)
    cache._collection.update(ids=cache._collection.get()["ids"], metadatas=[{"passages": "{not json"}])
    result = agent.ask(Q)
    assert result.status == "answered" and not result.cache.get("hit")
    assert "treated as a miss" in result.cache["warning"]
