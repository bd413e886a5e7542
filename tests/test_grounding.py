from vetted_rag.grounding import attribute_citations, check_support, citations_for

P = [{"id": "a", "source": "s1", "title": "Budgets", "chunk": 0,
      "text": "To set a cost budget, set the max_cost_usd field of the run policy."},
     {"id": "b", "source": "s2", "title": "Cache", "chunk": 0, "text": "Run vetted-rag cache clear to clear the cache."}]


def test_supported_answer_passes():
    assert check_support("Set the max_cost_usd field of the run policy [1].", P, 0.6, True).ok


def test_unsupported_sentence_fails():
    report = check_support("The cost budget is stored on the moon by astronauts [1].", P, 0.6, True)
    assert not report.ok and report.unsupported


def test_invented_citation_fails():
    report = check_support("Set max_cost_usd [3].", P, 0.6, True)
    assert not report.ok and report.invalid_citations == [3]


def test_uncited_answer_fails_when_citations_required():
    assert not check_support("Set the max_cost_usd field of the run policy.", P, 0.6, True).ok


def test_repetition_fails():
    text = "Run vetted-rag cache clear to clear the cache [2]. Run vetted-rag cache clear to clear the cache [2]."
    assert "repeats" in check_support(text, P, 0.6, True).reason


def test_attribution_adds_only_supported_citations():
    text, added = attribute_citations("Run vetted-rag cache clear to clear the cache. Dragons guard the budget.", P, 0.6)
    assert added == 1 and "cache [2]." in text and "Dragons guard the budget." in text


def test_citation_mapping_in_first_use_order():
    cites = citations_for("B [2]. A [1]. B again [2]. Bad [9].", P)
    assert [(c["marker"], c["id"]) for c in cites] == [(2, "b"), (1, "a")]


def test_relevance_check():
    from vetted_rag.grounding import check_relevance

    assert check_relevance("How do I clear the cache?", "Run vetted-rag cache clear [1].")[0]
    assert not check_relevance("How do I clear the cache?", "Llamas are camelids.")[0]
    assert not check_relevance("How do I clear the cache?", "You clear the cache.")[0]
    assert not check_relevance("How do I clear the cache?", "I cannot answer this from the knowledge base.")[0]
