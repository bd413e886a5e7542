"""The lexical half of hybrid retrieval: BM25 (rank_bm25) over the collection's chunks.

Local Chroma has no keyword ranking (its hybrid `Collection.search` is Chroma Cloud only), and
MiniLM cosine misses what a user names exactly: "How do I move the data directory?" found no chunk
at cosine >= 0.2 although the README says "data directory". The index is rebuilt from the
collection itself whenever its fingerprint changes, so every process and replica sharing a
Chroma server ranks the same chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

from rank_bm25 import BM25Okapi

from vetted_rag.grounding import FUNCTION_WORDS, content_words, stem, tokens


def index_terms(text: str) -> list[str]:
    """Stems of the words that can carry a claim, repeated as often as they occur (BM25 counts them)."""
    return [stem(t) for t in tokens(text) if t not in FUNCTION_WORDS]


@dataclass(frozen=True)
class LexicalMatch:
    id: str
    rank: int
    matched: int  # how many distinct content words of the query the chunk contains


class LexicalIndex:
    """BM25 over a snapshot of chunks, tied to the fingerprint it was built for."""

    def __init__(self, fingerprint: str, ids: list[str], texts: list[str]) -> None:
        self.fingerprint = fingerprint
        self._ids = ids
        terms = [index_terms(text) for text in texts]
        self._terms = [set(t) for t in terms]
        # BM25Okapi divides by the corpus size: an empty collection has no index at all.
        self._bm25 = BM25Okapi([t or [""] for t in terms]) if texts else None

    def top(self, query: str, n: int) -> list[LexicalMatch]:
        """The `n` best chunks that contain at least one content word of `query`, best first."""
        asked = content_words(query)
        if self._bm25 is None or not asked:
            return []
        scores = self._bm25.get_scores(list(asked))
        matched = [(len(asked & terms), score, i) for i, (terms, score) in enumerate(zip(self._terms, scores))]
        ranked = sorted((m for m in matched if m[0]), key=lambda m: (-m[1], -m[0]))[:n]
        return [LexicalMatch(self._ids[i], rank, words) for rank, (words, _, i) in enumerate(ranked)]
