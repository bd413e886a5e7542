"""Question equivalence: may a cached answer to one question be served for another?

A semantic cache hit is an answer released without grading, so embedding similarity alone
is not enough: "convert a list to a string" and "… a string to a list" are 0.996 apart in
MiniLM. Two questions are the same question only when the words in which they differ are
paraphrases — inflections (stemming), a short table of synonyms, filler — and nothing that
changes what is asked: a negation, an antonym (enable/disable, min/max, import/export, …),
an argument order around a directional word ("list to string" / "string to list"), or a
different name, number, version or identifier. Measured on bench/data/question_pairs.json
(bench/RESULTS.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vetted_rag.grounding import FUNCTION_WORDS, NEGATIONS, _stem, tokens

# Words that never decide what a question asks ("How can I ...", "What's ...").
FILLER = frozenset("""can could would should may might do does did please way get gets exactly just actually
    also new own single one given i me my we our you your it its the a an is are was were be been what whats
    which how find default command available""".split())

# Groups of words that ask the same thing here; the first is the group's name.
_SYNONYMS = [
    "remove delete erase", "clear empty flush purge wipe", "show display view see list print",
    "start launch run", "set configure specify", "create make add generate", "store save keep kept persist",
    "use utilize employ", "need require", "change modify alter", "default standard",
    "stop halt", "check verify", "retrieve fetch obtain", "find locate", "bypass skip",
]
SYNONYM = {_stem(word): group.split()[0] for group in _SYNONYMS for word in group.split()}

# Pairs that reverse what is asked. Any word of a pair in the difference is a conflict.
_ANTONYMS = [
    ("enable", "disable"), ("on", "off"), ("minimum", "maximum"), ("min", "max"), ("increase", "decrease"),
    ("raise", "lower"), ("higher", "lower"), ("more", "less"), ("more", "fewer"), ("import", "export"),
    ("ascending", "descending"), ("add", "remove"), ("start", "stop"), ("open", "close"), ("before", "after"),
    ("upload", "download"), ("encrypt", "decrypt"), ("allow", "block"), ("allow", "deny"), ("include", "exclude"),
    ("show", "hide"), ("first", "last"), ("input", "output"), ("read", "write"), ("push", "pull"),
    ("send", "receive"), ("lock", "unlock"), ("best", "worst"), ("oldest", "newest"), ("create", "revoke"),
    ("create", "delete"), ("install", "uninstall"), ("connect", "disconnect"), ("encode", "decode"),
    ("accept", "reject"), ("begin", "end"), ("success", "failure"), ("valid", "invalid"), ("public", "private"),
]
ANTONYM_WORDS = frozenset(_stem(w) for pair in _ANTONYMS for w in pair)
DIRECTIONAL = frozenset("to from into onto than over versus vs".split())
_SPECIFIC = re.compile(r"`[^`]+`|\b\w*\d[\w.]*|\b[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*|\b\w+[_.-]\w+[\w.-]*")


def _content(question: str) -> list[str]:
    """Canonical stems of the question's content words, in order."""
    words = [t for t in tokens(question) if t not in FILLER and (t not in FUNCTION_WORDS or t in DIRECTIONAL)]
    return [SYNONYM.get(_stem(t), _stem(t)) for t in words]


def _specifics(question: str) -> set[str]:
    """Names, numbers, versions and identifiers (the first word of a question is not a name)."""
    body = question.strip()
    body = body[len(body.split()[0]):] if body else body
    return {" ".join(tokens(m.group(0))) for m in _SPECIFIC.finditer(body)} - {"", "i"}


@dataclass(frozen=True)
class Equivalence:
    same: bool
    reason: str


def same_question(asked: str, cached: str, cached_answer: str = "") -> Equivalence:
    """Whether `asked` asks what `cached` asked, so the cached answer may be served for it.

    No conflict (negation, different name/number/version, antonym, swapped roles) may separate
    them. Then either they differ only in wording (inflections, synonyms, filler), or `asked`
    keeps every word of `cached` and adds only words the stored answer states."""
    a_tokens, c_tokens = set(tokens(asked)), set(tokens(cached))
    if (a_tokens & NEGATIONS) != (c_tokens & NEGATIONS):
        return Equivalence(False, "one question is negated")
    named_a, named_c, named_answer = _specifics(asked), _specifics(cached), _specifics(cached_answer)
    if not named_a <= named_c | named_answer or not named_c <= named_a | named_answer:
        differ = sorted(named_a ^ named_c)
        return Equivalence(False, f"they name different things: {', '.join(differ[:4])}")
    a, c = _content(asked), _content(cached)
    differ = set(a) ^ set(c)
    # "to" vs "from" is a change of direction; a lone "to" ("the command to make") is not.
    directions = (set(a) & DIRECTIONAL, set(c) & DIRECTIONAL)
    flipped = sorted(differ & ANTONYM_WORDS) + (sorted(differ & DIRECTIONAL) if all(directions) else [])
    if flipped:
        return Equivalence(False, f"opposite or different action: {', '.join(flipped)}")
    if (set(a) & DIRECTIONAL) and set(a) == set(c) and a != c:
        return Equivalence(False, "the same words in another order around 'to'/'from': the roles are swapped")
    if not differ - DIRECTIONAL:
        return Equivalence(True, "the questions differ only in wording")
    # A narrower wording of the same question: it keeps every word of the cached one and adds only
    # words the stored answer states. A substitution (cost → token) is a different question.
    dropped = sorted(set(c) - set(a) - DIRECTIONAL)
    uncovered = sorted(set(a) - set(c) - set(_content(cached_answer)) - DIRECTIONAL)
    if cached_answer and not dropped and not uncovered:
        return Equivalence(True, "it adds to the cached question only words its stored answer states")
    return Equivalence(False, f"they differ in {', '.join((dropped + uncovered)[:4])}")
