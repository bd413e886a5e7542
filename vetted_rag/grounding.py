"""Deterministic grounding: citations must point at retrieved passages, and every answer
sentence must be supported by the passages it cites (content-word overlap).

Needs no model, so it still works when the grading model is too small to be trusted
(the packaged 135M model answered "yes" to 20/20 mixed cases). The hallucination grade
passes only if this check AND the LLM grader pass; see `nodes/grade_hallucination.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vetted_rag.prompts import ABSTAIN

CITATION = re.compile(r"\[(\d+)\]")
_CODE_BLOCK = re.compile(r"```.*?(```|$)", re.DOTALL)
_WORD = re.compile(r"[a-z0-9_]+")
_STOPWORDS = frozenset(
    """a an the and or but if then else of to in on at by for with from as is are was were be been being
    it its this that these those there here which who whom what when where why how not no yes do does did
    can could should would will shall may might must you your we our they their he she his her i me my
    than so such also very just only any all each both some more most other into over under about above
    below up down out off again further once has have had having own same too s t don via per""".split()
)


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 1}


def _stem(word: str) -> str:
    # Crude plural/inflection folding: enough to match "budgets" to "budget".
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def passage_vocabularies(passages: list[dict]) -> list[set[str]]:
    """Content words of each passage (text and title), in passage order."""
    return [content_words(p["text"] + " " + p.get("title", "")) for p in passages]


def cited_markers(answer: str) -> list[int]:
    return [int(n) for n in CITATION.findall(answer)]


def is_abstention(answer: str) -> bool:
    return ABSTAIN.lower().rstrip(".") in answer.lower()


# A sentence ends at . ! ? followed by space and a capital, digit, quote or bracket, but not
# after a single letter ("D.I.", "U.S.") or "e.g." / "i.e.".
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\b[A-Za-z]\.)(?<!\be\.g\.)(?<!\bi\.e\.)\s+(?=[A-Z0-9\"'(\[])")


def _sentences(answer: str) -> list[str]:
    prose = _CODE_BLOCK.sub(" ", answer)
    # Move "[n]" that follows the full stop ("... budget. [2]") in front of it.
    prose = re.sub(r"([.!?])((?:\s*\[\d+\])+)", r"\2\1", prose)
    return [s.strip() for s in _SENTENCE_END.split(prose) if s.strip()]


@dataclass
class SupportReport:
    ok: bool
    reason: str
    invalid_citations: list[int] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    min_support: float = 1.0


def check_support(answer: str, passages: list[dict], threshold: float, require_citations: bool) -> SupportReport:
    if is_abstention(answer):
        return SupportReport(True, "the answer abstains; it claims nothing")
    markers = cited_markers(answer)
    invalid = sorted({n for n in markers if not 1 <= n <= len(passages)})
    if invalid:
        return SupportReport(
            False, f"cites {', '.join(f'[{n}]' for n in invalid)}, which {'is' if len(invalid) == 1 else 'are'} "
            f"not among the {len(passages)} retrieved passages", invalid_citations=invalid, min_support=0.0
        )
    if require_citations and not markers:
        return SupportReport(False, "the answer cites no passage", min_support=0.0)
    sentences = _sentences(answer)
    normalised = [" ".join(sorted(content_words(CITATION.sub(" ", s)))) for s in sentences]
    repeats = len(normalised) - len(set(normalised))
    if repeats:
        return SupportReport(False, f"the answer repeats itself ({repeats} repeated sentence(s))", min_support=0.0)
    vocab = passage_vocabularies(passages)
    answer_cited = sorted(set(markers)) or list(range(1, len(passages) + 1))
    unsupported, worst = [], 1.0
    for sentence in sentences:
        words = content_words(CITATION.sub(" ", sentence))
        # Short sentences ("Yes.", a heading) are judged only when nothing longer is: a
        # one-phrase answer must still be found in its passages.
        if len(words) < 3 and (len(sentences) > 1 or not words):
            continue
        own = [int(n) for n in CITATION.findall(sentence)] or answer_cited
        support_words = set().union(*(vocab[n - 1] for n in own))
        share = len(words & support_words) / len(words)
        worst = min(worst, share)
        if share < threshold:
            unsupported.append(sentence)
    if unsupported:
        return SupportReport(
            False, f"{len(unsupported)} sentence(s) not supported by the cited passages, e.g. {unsupported[0][:120]!r}",
            unsupported=unsupported, min_support=worst,
        )
    return SupportReport(True, "every sentence is supported by its cited passages", min_support=worst)


def citations_for(answer: str, passages: list[dict]) -> list[dict]:
    """Each valid [n] marker of the answer, in order of first use, mapped to its source passage."""
    seen: list[int] = []
    for n in cited_markers(answer):
        if 1 <= n <= len(passages) and n not in seen:
            seen.append(n)
    return [{"marker": n, "id": passages[n - 1]["id"], "source": passages[n - 1]["source"],
             "title": passages[n - 1].get("title", ""), "chunk": passages[n - 1].get("chunk", 0)} for n in seen]


def attribute_citations(answer: str, passages: list[dict], threshold: float) -> tuple[str, int]:
    """Add [n] to each uncited sentence whose best-supporting passage clears `threshold`.

    Small models rarely write citation markers; attributing after the fact keeps every
    answer cited without trusting the model. A sentence no passage supports stays
    uncited, so the support check still fails it. A one-phrase answer is attributed as a
    whole. Returns (answer, sentences attributed).
    """
    if is_abstention(answer) or not passages or "```" in answer:
        return answer, 0
    vocab = passage_vocabularies(passages)

    def best(words: set[str]) -> int | None:
        shares = [len(words & v) / len(words) for v in vocab]
        top = max(range(len(shares)), key=shares.__getitem__)
        return top + 1 if shares[top] >= threshold else None

    cited, added = [], 0
    for sentence in _sentences(answer):
        words = content_words(sentence)
        marker = None if CITATION.search(sentence) or len(words) < 3 else best(words)
        if marker:
            body, end = re.match(r"(.*?)([.!?]?)$", sentence.rstrip(), re.DOTALL).groups()
            sentence, added = f"{body} [{marker}]{end}", added + 1
        cited.append(sentence)
    result = " ".join(cited)
    if not CITATION.search(result):
        words = content_words(result)
        marker = best(words) if words else None
        if marker:
            result, added = f"{result.rstrip()} [{marker}]", 1
    return result, added


_POLAR = re.compile(r"\s*(is|are|was|were|do|does|did|can|could|has|have|had|will|would|should|shall)\b", re.I)


def check_relevance(question: str, answer: str) -> tuple[bool, str]:
    """Deterministic relevance: the answer must share a content word with the question (same
    topic) and add at least one the question lacks (not a mere restatement). Abstentions fail."""
    if is_abstention(answer):
        return False, "the answer abstains"
    if _POLAR.match(question) and re.match(r"\s*(yes|no)\b", answer, re.I):
        return True, "a yes/no answer to a yes/no question"
    asked, said = content_words(question), content_words(CITATION.sub(" ", answer))
    if not asked & said:
        return False, "the answer shares no content word with the question"
    if not said - asked:
        return False, "the answer only restates the question"
    return True, f"on topic ({', '.join(sorted(asked & said)[:4])}) and adds information"
