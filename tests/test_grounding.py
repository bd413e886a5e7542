"""The claim-level support check: each kind of claim unit, degenerate output, citations."""

import pytest

from vetted_rag.grounding import attribute_citations, check_support, citations_for, degeneration, strip_leading_reply

P = [{"id": "a", "source": "s1", "title": "Budgets", "chunk": 0,
      "text": "To set a cost budget, set the max_cost_usd field of the run policy. The library needs Python 3.10 or "
              "newer. Releases are published on Tuesdays."},
     {"id": "b", "source": "s2", "title": "Cache", "chunk": 0,
      "text": "Run vetted-rag cache clear to clear the cache. The Oberoi Group has its head office in Delhi."}]


def test_supported_answer_passes():
    assert check_support("Set the max_cost_usd field of the run policy [1].", P).ok


def test_inflections_fold():
    assert check_support("Setting cost budgets: set the max_cost_usd field [1].", P).ok


@pytest.mark.parametrize("answer, missing", [
    ("The library needs Python 2.7 or newer [1].", "2.7"),  # a version the passage does not state
    ("Releases are published on Fridays [1].", "friday"),  # one wrong content word is the whole hallucination
    ("The Oberoi Group has its head office in Mumbai [2].", "mumbai"),
    ("Set the max_total_cost field of the run policy [1].", "max_total_cost"),  # identifiers match verbatim
    ("Releases are not published on Tuesdays [1].", "not"),  # negation is a claim
    ("Releases are only published on Tuesdays [1].", "only"),  # so is exclusivity
    ("The Delhi Group has its head office in Oberoi [2].", "Delhi Group"),  # names match as a sequence
])
def test_each_unsupported_claim_unit_fails(answer, missing):
    report = check_support(answer, P)
    assert not report.ok and any(missing.lower() in m.lower() for m in report.missing), report.reason


def test_question_words_get_no_exemption():
    # Restating a premise the passages do not state is not support for it.
    assert not check_support("The Oberoi family hotel is in Delhi [2].", P).ok


def test_added_claim_must_be_stated_with_the_rest():
    # "Delhi" and "releases" are both in the passages, but never together.
    question = "Where are releases published?"
    assert not check_support("Releases are published in Delhi.", P, require_citations=False, question=question).ok
    assert check_support("Releases are published on Tuesdays.", P, require_citations=False, question="When are "
                         "releases published?").ok


def test_invented_citation_fails():
    report = check_support("Set max_cost_usd [3].", P)
    assert not report.ok and report.invalid_citations == [3]


def test_uncited_answer_fails_when_citations_required():
    assert not check_support("Set the max_cost_usd field of the run policy.", P).ok


@pytest.mark.parametrize("answer", [
    "LangLangLangLangLangLang [1].",
    "Run vetted-rag cache clear to clear the cache [2]. Run vetted-rag cache clear to clear the cache [2].",
    "Run vetted-rag cache clear [2].\nRun vetted-rag cache clear [2].",
    "clear the cache clear the cache clear the cache clear the cache [2].",
    "To clear the cache, run the following command [2]:",  # what it introduces is missing
])
def test_degenerate_outputs_fail(answer):
    assert degeneration(answer) and not check_support(answer, P).ok


def test_cut_off_answer_fails():
    report = check_support("To set a cost budget, set the [1]", P, truncated=True)
    assert not report.ok and "cut off" in report.reason


def test_abstention_claims_nothing():
    assert check_support("I cannot answer this from the knowledge base.", P).ok


def test_attribution_cites_only_a_passage_that_supports_every_claim():
    text, added = attribute_citations("Run vetted-rag cache clear to clear the cache. Dragons guard the budget.", P)
    assert added == 1 and "cache [2]." in text and "Dragons guard the budget." in text


def test_a_wrong_citation_is_corrected_to_the_supporting_passage():
    text, changed = attribute_citations("Run vetted-rag cache clear to clear the cache [1].", P)
    assert changed == 1 and text == "Run vetted-rag cache clear to clear the cache [2]."
    unsupported = "Dragons clear the cache [1]."
    assert attribute_citations(unsupported, P) == (unsupported, 0)  # no passage supports it: left as written


def test_citation_mapping_in_first_use_order():
    cites = citations_for("B [2]. A [1]. B again [2]. Bad [9].", P)
    assert [(c["marker"], c["id"]) for c in cites] == [(2, "b"), (1, "a")]


def test_leading_reply_is_stripped_for_open_questions():
    assert strip_leading_reply("Yes, run vetted-rag serve.") == "Run vetted-rag serve."
    assert strip_leading_reply("Run vetted-rag serve.") == "Run vetted-rag serve."


def test_use_before_a_command_is_a_connective_not_a_claim():
    passage = [{"text": "Every action is written to an append-only audit log; `vetted-rag audit verify` checks the chain."}]
    assert check_support("To verify the audit log, use the command `vetted-rag audit verify` [1].", passage).ok
    assert not check_support("The audit log used SHA-1 [1].", passage).ok  # "used" still claims


def test_parameter_option_and_value_name_the_kind_of_a_documented_thing():
    """"The number of passages retrieved per question is set by the `top_k` parameter" (seen on a newcomer's
    question) failed on "parameter" alone: the passage calls `top_k` a setting."""
    passage = [{"text": "The retrieval settings are `top_k`, the number of passages retrieved per question (4 by default)."}]
    assert check_support("The number of passages retrieved per question is set by the `top_k` parameter, which "
                         "defaults to 4 [1].", passage).ok
    assert not check_support("The `top_k` parameter is deprecated [1].", passage).ok  # the claim around it is checked
    signature = [{"text": "secrets.token_urlsafe([nbytes=None])\n:   Return a random URL-safe text string."}]
    assert check_support("The `secrets.token_urlsafe` function returns a random URL-safe text string [1].", signature).ok


INSTALL = [{"id": "i", "source": "readme", "title": "Installation", "chunk": 0,
            "text": "Requests is available on PyPI:\n\n```\n$ python -m pip install requests\n```"}]


@pytest.mark.parametrize("block, ok", [
    ("```\n$ python -m pip install requests\n```", True),  # the passage's own command
    ("```bash\n$ conda install -c bogus requests-fake\n```", False),  # a command no passage shows
    ("```python\nprint(sum([1, 2]))\n```", True),  # Python is the self-check's to run, not a claim to find
])
def test_code_blocks_other_than_python_are_claims(block, ok):
    report = check_support(f"To install Requests, use the following command [1]:\n{block}", INSTALL)
    assert report.ok is ok, report.reason
    if not ok:
        assert "conda" in report.missing and "bogus" in report.missing


def test_an_uncited_answer_with_a_code_block_cites_the_passage_that_states_all_of_it():
    answer = "To install Requests, use the following command in your terminal:\n```\n$ python -m pip install requests\n```"
    cited, changed = attribute_citations(answer, P + INSTALL)
    assert changed == 1 and cited.endswith("```\n[3]")
    assert check_support(cited, P + INSTALL).ok
    invented = answer.replace("python -m pip", "pipx")
    assert attribute_citations(invented, P + INSTALL) == (invented, 0)


def test_a_word_inside_a_url_supports_nothing_but_the_url_itself():
    readme = [{"id": "d", "source": "readme", "title": "", "chunk": 0,
               "text": "Christian Heimes <christian@python.org>\n.. image:: https://travis-ci.org/tiran/defusedxml.svg"}]
    assert not check_support("Tiran [1]", readme).ok  # a user name in a badge's address is no author
    assert check_support("Christian Heimes [1]", readme).ok
    assert check_support("The badge is https://travis-ci.org/tiran/defusedxml.svg [1]", readme).ok is False  # 'badge'
    assert not check_support("Christian Heimes, https://travis-ci.org/tiran/other.svg [1]", readme).ok


def test_a_code_block_answer_citing_the_wrong_passage_is_cited_to_the_one_that_shows_it():
    answer = "To install Requests, use the following command [1]:\n```\n$ python -m pip install requests\n```"
    cited, changed = attribute_citations(answer, P + INSTALL)
    assert changed == 1 and cited.endswith("```\n[3]") and "[1]" not in cited
    assert check_support(cited, P + INSTALL).ok


def test_a_title_does_not_end_a_sentence():
    harris = [{"id": "h", "source": "s", "title": "", "chunk": 0, "text": "Thomas Harris created Dr. Hannibal Lecter."}]
    assert attribute_citations("Dr. Hannibal Lecter", harris) == ("Dr. Hannibal Lecter [1]", 1)


def test_a_hard_wrapped_sentence_is_one_sentence_and_code_keeps_its_lines():
    from vetted_rag.grounding import passage_sentences

    readme = ("It is the recommended replacement for Python's original\n[`platform.linux_distribution`](https://x.org)\n"
              "function (removed in Python 3.8).\n\n- first item\n- second item\n```python\nimport distro\n"
              "print(distro.id())\n```\n$ pip install distro\n    indented code\n    more code")
    assert passage_sentences([readme]) == [
        "It is the recommended replacement for Python's original [`platform.linux_distribution`](https://x.org) "
        "function (removed in Python 3.8).", "", "- first item", "- second item", "```python", "import distro",
        "print(distro.id())", "```", "$ pip install distro", "    indented code", "    more code"]


def test_a_documents_lede_is_said_of_the_document():
    """uvicorn's README opens with its logo and the tagline "An ASGI web server, for Python.", which never
    says "uvicorn": "Uvicorn is an ASGI web server, for Python" was refused as a claim assembled from
    unrelated lines. The first prose line of a document's lede chunk is read as said of the document;
    any later line, or another chunk, is not."""
    from vetted_rag.grounding import with_subject

    tagline = ('<p align="center">\n  <img src="https://example.org/uvicorn.png" alt="uvicorn">\n</p>\n\n'
               '<p align="center">\n<em>An ASGI web server, for Python.</em>\n</p>\n\n'
               'It uses httptools, a fast HTTP parser.')
    passage = {"text": tagline, "title": "uvicorn", "chunk": 0, "lede": True}
    claim = "Uvicorn is an ASGI web server, for Python [1]."
    assert "uvicorn: <em>An ASGI" in with_subject(passage)
    assert check_support(claim, [passage], question="What is Uvicorn?").ok
    assert not check_support(claim, [passage | {"chunk": 3, "lede": False}], question="What is Uvicorn?").ok
    assert not check_support("Uvicorn is a fast HTTP parser [1].", [passage], question="What is Uvicorn?").ok


def test_the_lede_of_a_restructuredtext_readme_skips_directives_badges_and_its_title():
    """pybase64's README opens with reST substitution definitions (".. |pypi-status| image:: …"), a title
    underlined with "=" and a line of badge references; its lede is "This project is a wrapper on libbase64"."""
    from vetted_rag.grounding import with_subject

    readme = (".. |pypi-status| image:: https://img.shields.io/pypi/v/pybase64.svg\n"
              "  :target: https://pypi.python.org/pypi/pybase64\n\nFast Base64 implementation\n"
              "==========================\n\n|license-status| |pypi-status| |python-versions|\n\n"
              "This project is a wrapper on `libbase64 <https://github.com/aklomp/base64>`_.\n")
    assert "pybase64: This project is a wrapper" in with_subject({"text": readme, "title": "pybase64", "lede": True})
    # Nor is a list item a lede: rich's README opens with a list of its translations.
    translations = "- [Lengua española readme](es.md)\n- [Deutsch readme](de.md)\n\nRich is a Python library for rich text."
    assert "rich: Rich is a Python library" in with_subject({"text": translations, "title": "rich", "lede": True})


def test_an_opening_clause_that_restates_the_question_is_no_claim():
    """"When a client exceeds the rate limit, they get HTTP 429" over "a client over the limit gets HTTP 429"
    (seen on a newcomer's question): the opening clause is the question's condition, the rest is the claim."""
    passages = [{"id": "k", "source": "security.md", "title": "Security", "chunk": 0,
                 "text": "Each key has a rate limit in requests per minute; a client over the limit gets HTTP 429 "
                         "with a Retry-After header."}]
    question = "What happens when a client exceeds the rate limit?"
    answer = "When a client exceeds the rate limit, they get HTTP 429 with a Retry-After header."
    cited, added = attribute_citations(answer, passages, question)
    assert added == 1 and check_support(cited, passages, question=question).ok
    assert not check_support(cited, passages).ok  # without the question, "exceeds" is a claim nothing states
    # The rest is still the claim, and a clause with words the question lacks is one too.
    assert not check_support("When a client exceeds the rate limit, they get HTTP 503 [1].", passages,
                             question=question).ok
    assert not check_support("When a client exceeds the daily rate limit, they get HTTP 429 [1].", passages,
                             question=question).ok
    # A premise the passages do not state is no rewording: "To enable the cache on a GPU," over a passage that never
    # says "enable" or "GPU" (seen once the clause was let through whole) is checked like any claim.
    cache = [{"id": "c", "source": "cache.md", "title": "The semantic cache", "chunk": 0,
              "text": "To clear the cache, run `vetted-rag cache clear`. To bypass the cache for one question, pass "
                      "`--no-cache` to `vetted-rag ask`."}]
    assert not check_support("To enable the cache on a GPU, run `vetted-rag cache clear` [1].", cache,
                             question="How do I enable the cache on a GPU?").ok


def test_a_restating_clause_may_add_words_the_passages_state():
    """"To get disk usage statistics about a given path, you can use the `shutil.disk_usage()` function" (seen over
    the Python docs): "get" is the question's word; "statistics" and "given" are not, but the passage states them."""
    passages = [{"text": "shutil.disk_usage(path)\n:   Return disk usage statistics about the given path as a named "
                         "tuple with the attributes total, used and free."}]
    question = "How do I get the disk usage of a path?"
    answer = "To get disk usage statistics about a given path, you can use the `shutil.disk_usage()` function [1]."
    assert check_support(answer, passages, question=question).ok
    # A word neither the question nor the passages say keeps the clause a claim.
    assert not check_support("To get disk usage statistics about a remote path, you can use the `shutil.disk_usage()` "
                             "function [1].", passages, question=question).ok
    # The question's own words must mostly be stated: "delete" and "run" are not.
    clear = [{"text": "`vetted-rag traces clear` empties the trace store."}]
    assert not check_support("To delete a run from the trace store, use `vetted-rag traces clear` [1].", clear,
                             question="How do I delete a run?").ok

