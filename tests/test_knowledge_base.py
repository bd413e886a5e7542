from vetted_rag import Configuration
from vetted_rag.knowledge.store import KnowledgeBase


def test_ingest_reports_bad_files_and_keeps_the_rest(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text("# Llamas\n\nLlamas are domesticated South American camelids used as pack animals.")
    (docs / "page.html").write_text("<html><head><title>Alpacas</title></head><body><nav>menu</nav>"
                                    "<main><h1>Alpacas</h1><p>Alpacas are kept for their soft fleece.</p></main></body></html>")
    (docs / "broken.md").write_bytes(b"\xff\xfe not utf-8 \xff")
    kb = KnowledgeBase(Configuration(data_dir=str(tmp_path / "data"), collection="t"))
    report = kb.ingest_paths([docs, tmp_path / "missing.md", tmp_path / "docs" / "good.md"])
    assert report.files == 3 and report.added == 2  # good.md twice: the second adds nothing
    assert sorted(s.rsplit("/", 1)[-1] for s, _ in report.failed) == ["broken.md", "missing.md"]
    fingerprint = kb.fingerprint
    again = kb.ingest_paths([docs / "good.md"])
    assert again.added == 0 and again.unchanged == 1 and kb.fingerprint == fingerprint
    hits = kb.search("soft fleece animals", k=2, threshold=0.1)
    assert hits[0]["title"] == "Alpacas" and "menu" not in hits[0]["text"]
    (docs / "good.md").write_text("# Llamas\n\nLlamas hum when they are anxious.")
    changed = kb.ingest_paths([docs / "good.md"])
    assert changed.added == 1 and changed.removed == 1 and kb.fingerprint != fingerprint
    assert kb.count() == 2


def test_repeated_chunks_in_one_document_are_stored_once(tmp_path):
    from vetted_rag.knowledge.store import SourceDocument

    kb = KnowledgeBase(Configuration(data_dir=str(tmp_path), collection="dup"))
    report = kb.add_document(SourceDocument("d.md", "d", "\n\n".join(["Same paragraph about goats. " * 30] * 3)))
    assert report.added == kb.count() >= 1


def test_http_ingest_never_reads_local_paths(tmp_path):
    from vetted_rag.knowledge.ingest import ingest_urls

    report = ingest_urls(Configuration(data_dir=str(tmp_path), collection="u"), ["", ".", "/etc/passwd"])
    assert report.added == 0 and [e for _, e in report.failed] == ["not an http(s) URL"] * 3


def test_chunk_titles_come_from_real_headings_not_code_comments(tmp_path):
    from vetted_rag.knowledge.store import read_document

    readme = tmp_path / "README.md"
    readme.write_text("![logo](x.png)\n\n```bash\npip install chromadb\n# for javascript, npm install chromadb!\n```\n\n"
                      "# Chroma\n\nChroma is a vector database.\n\n## API\n\n" + "The core API has four functions. " * 40)
    doc = read_document(readme)
    assert doc.title == "Chroma"
    kb = KnowledgeBase(Configuration(data_dir=str(tmp_path / "data"), collection="titles"))
    kb.add_document(doc)
    titles = {p["title"] for p in kb.search("core API functions", k=5, threshold=0.0)}
    assert titles and all("javascript" not in t for t in titles) and "Chroma › API" in titles


def test_an_indented_fence_closes_its_code_block():
    """HTML → Markdown indents a code block inside a definition ("    ```"); read as no fence, it flipped every later
    block, and a "# comment" line in the Python docs' secrets recipes became a section title."""
    from vetted_rag.knowledge.store import markdown_headings

    text = ("## Generating tokens\n\ntoken_hex()\n:   Return a text string.\n\n```\n    >>> token_hex(16)\n    ```\n\n"
            "## Recipes\n\n```\nimport secrets\n# Other platforms may need their own word-list.\n```\n")
    assert [title for _, _, title in markdown_headings(text)] == ["Generating tokens", "Recipes"]


def test_a_document_without_a_top_level_heading_is_named_by_its_file(tmp_path):
    """uvicorn's README opens with its logo and tagline and has no "# " heading; its first heading is
    "## Quickstart", which named the whole document (and its tagline's chunk) before."""
    from vetted_rag.knowledge.store import read_document

    readme = tmp_path / "uvicorn.md"
    readme.write_text('<p align="center">\n<em>An ASGI web server, for Python.</em>\n</p>\n\n## Quickstart\n\nInstall it.\n')
    assert read_document(readme).title == "uvicorn"


def test_the_lede_chunk_is_the_first_with_a_prose_line_however_far_in(tmp_path):
    """pybase64's README opens with two chunks of reST badge definitions; its lede ("This project is a wrapper
    on libbase64") is in the third, which is marked at ingest so the lede rule reads it there."""
    from vetted_rag.knowledge.store import SourceDocument

    badges = "".join(f".. |badge-{n}| image:: https://img.shields.io/badge/b{n}.svg\n  :target: https://example.org/{n}\n\n"
                     for n in range(24))
    text = badges + "This project is a wrapper on libbase64, a fast base64 library.\n\n" + "Usage notes follow. " * 50
    kb = KnowledgeBase(Configuration(data_dir=str(tmp_path), collection="lede"))
    kb.add_document(SourceDocument(source="pybase64.rst", title="pybase64", text=text))
    marked = {p["chunk"]: p["lede"] for p in kb.search("wrapper libbase64 badge usage notes", k=20, threshold=-1.0)}
    lede_chunks = [n for n, lede in marked.items() if lede]
    assert len(lede_chunks) == 1 and lede_chunks[0] > 0 and 0 in marked


def test_a_chunk_stored_before_ledes_were_marked_reads_the_first_chunk_as_the_lede():
    from vetted_rag.knowledge.store import _passage

    stored_before = {"source": "uvicorn.md", "title": "uvicorn"}
    assert _passage("a", "text", stored_before | {"chunk": 0}, 0.5)["lede"] is True
    assert _passage("b", "text", stored_before | {"chunk": 2}, 0.5)["lede"] is False
    assert _passage("c", "text", stored_before | {"chunk": 0, "lede": False}, 0.5)["lede"] is False  # marked: as marked


def test_int8_arithmetic_minilm_is_built_once_and_agrees_with_the_packaged_model(tmp_path, monkeypatch):
    """'minilm-q8' (the cache's question embedder) is the packaged file quantized by onnxruntime: built
    once into the user cache, and close enough to 'minilm' that the cache's measured threshold holds."""
    import numpy as np

    from vetted_rag.knowledge.embeddings import MiniLMEmbeddings

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    texts = ["How do I set a cost budget?", "How can I set a cost budget?", "convert a list to a string",
             "Alpacas are kept for their soft fleece, llamas as pack animals."]
    packaged = np.array(MiniLMEmbeddings().embed_documents(texts))
    fast = MiniLMEmbeddings(int8_arithmetic=True)
    built = list((tmp_path / "vetted-rag").glob("minilm-q8-*.onnx"))
    assert len(built) == 1
    stamp = built[0].stat().st_mtime_ns
    quantized = np.array(fast.embed_documents(texts))
    assert (packaged * quantized).sum(axis=1).min() > 0.98
    assert np.allclose(quantized, MiniLMEmbeddings(int8_arithmetic=True).embed_documents(texts), atol=1e-6)
    assert built[0].stat().st_mtime_ns == stamp  # the second load reused the built file


def test_hybrid_search_uses_chunks_that_name_the_question_words_when_no_chunk_reaches_the_threshold(tmp_path):
    """Before hybrid search, MiniLM put no chunk of the sample docs at cosine >= 0.2 for "How do I move the
    data directory?" (a threshold of 0.9 reproduces that here): the chunks that say "data directory" are used.
    Otherwise the threshold decides how many chunks, and the fused ranking which. A question sharing no two
    words with any chunk still finds nothing; a chunk added later is found at once (the index follows the
    fingerprint)."""
    from vetted_rag.knowledge.store import SourceDocument

    kb = KnowledgeBase(Configuration(data_dir=str(tmp_path), collection="hybrid"))
    kb.ensure_sample()
    found = kb.search("How do I move the data directory?", k=4, threshold=0.9)
    assert found and all(p["score"] < 0.9 for p in found)
    assert any("data directory" in p["text"] for p in found)
    passing = kb.search("How do I move the data directory?", k=4, threshold=0.25)
    assert passing and all(p["score"] >= 0.25 for p in passing)
    assert kb.search("What is the capital of Australia?", k=4, threshold=0.9) == []
    kb.add_document(SourceDocument("zz.md", "Quokkas", "Quokkas live on Rottnest Island near Perth."))
    assert [p["source"] for p in kb.search("Where do quokkas live?", k=1, threshold=0.9)] == ["zz.md"]


def test_lexical_index_ranks_by_bm25_and_counts_the_question_words_a_chunk_contains():
    from vetted_rag.knowledge.lexical import LexicalIndex

    index = LexicalIndex("f", ["budget", "cost", "other"], [
        "Set a cost budget with max_cost_usd. The cost budget stops a run.",
        "Every call has a cost.",
        "Threads default to one per core."])
    ranked = index.top("How do I set a cost budget?", 5)
    assert [(m.id, m.matched) for m in ranked] == [("budget", 3), ("cost", 1)]
    assert index.top("What is the capital of Australia?", 5) == []
    assert LexicalIndex("f", [], []).top("anything", 5) == []
