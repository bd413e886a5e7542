"""Question equivalence: may a cached answer to one question be served for another?

A semantic cache hit is an answer released without grading, so embedding similarity alone
is not enough: "convert a list to a string" and "… a string to a list" are 0.996 apart in
MiniLM. Two questions are the same question only when the words in which they differ are
paraphrases — inflections (stemming), a short table of synonyms, filler, or words the stored
answer and its passage sentence state — and nothing that changes what is asked: a negation, an
opposite (enable/disable, min/max, import/export, …; "maximum" alone too), swapped roles ("list to
string" / "string to list", "can a reader key create an admin key" / the reverse), a word replaced in an
otherwise identical question ("token budget" / "time budget"), or a different name, number, version or
identifier. Measured on bench/data/question_pairs.json and
question_rewordings.json (bench/RESULTS.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from vetted_rag.grounding import FUNCTION_WORDS, NEGATIONS, stem, tokens
from vetted_rag.relevance import stating_sentences

# Words that never decide what a question asks ("How can I ...", "What's ...").
FILLER = frozenset("""can could would should may might do does did please way get gets exactly just actually
    also new own single one given i me my we our you your it its the a an is are was were be been what whats
    which how find default command available many much number kind have take happen thing there whether
    use utilize employ""".split())

_FILLER_STEMS = frozenset(map(stem, FILLER))

# Groups of words that ask the same thing here; the first is the group's name.
_SYNONYMS = [
    "remove delete erase", "clear empty flush purge wipe", "show display view see look list print",
    "start launch run", "set configure specify", "create make add generate", "store save keep kept persist",
    "need require", "change modify alter", "default standard",
    "stop halt", "recent latest", "reach hit", "check verify", "retrieve fetch obtain", "find locate", "bypass skip",
]
SYNONYM = {stem(word): group.split()[0] for group in _SYNONYMS for word in group.split()}


def _canonical(word: str) -> str:
    return SYNONYM.get(stem(word), stem(word))


# Pairs that reverse what is asked: the two words of a pair, one in each question, conflict.
_ANTONYMS = [
    ("enable", "disable"), ("on", "off"), ("minimum", "maximum"), ("min", "max"), ("increase", "decrease"),
    ("raise", "lower"), ("higher", "lower"), ("more", "less"), ("more", "fewer"), ("import", "export"),
    ("ascending", "descending"), ("add", "remove"), ("start", "stop"), ("open", "close"), ("before", "after"),
    ("upload", "download"), ("encrypt", "decrypt"), ("allow", "block"), ("allow", "deny"), ("include", "exclude"),
    ("show", "hide"), ("first", "last"), ("input", "output"), ("read", "write"), ("push", "pull"),
    ("send", "receive"), ("lock", "unlock"), ("best", "worst"), ("oldest", "newest"), ("create", "revoke"),
    ("create", "delete"), ("install", "uninstall"), ("connect", "disconnect"), ("encode", "decode"),
    ("accept", "reject"), ("begin", "end"), ("success", "failure"), ("valid", "invalid"), ("public", "private"),
    ("one", "every"), ("one", "all"), ("one", "each"), ("one", "any"),
]
# A preposition or quantifier alone ("after how much time", "wipe all cached answers") does not turn a
# question round; a polarity or scale word alone ("maximum", "disable") does.
ALONE_HARMLESS = frozenset(map(stem, "after before on off one all every each any".split()))
OPPOSITES: dict[str, set[str]] = {}  # by stem: "run" (of "a run") is a synonym of "start", not an opposite of "stop"
for _pair in _ANTONYMS:
    _x, _y = map(stem, _pair)
    OPPOSITES.setdefault(_x, set()).add(_y)
    OPPOSITES.setdefault(_y, set()).add(_x)
DIRECTIONAL = frozenset("to from into onto than over versus vs".split())
# A hyphenated lower-case word ("wall-clock", "follow-up") is an ordinary word, not an identifier.
_SPECIFIC = re.compile(r"`[^`]+`|\b\w*\d[\w.]*|\b[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*|\b\w+[_.]\w+[\w.-]*")


# "turn on X", or "turn X on" ending the clause (so "which turn comes on Monday" stays as it is).
_TURN = re.compile(r"\b(?:turn|switch)(?:s|ed|ing)?\s+(?:(on|off)\b|((?:[\w-]+\s+){1,2}?)(on|off)(?=\s*(?:[?.!,;]|$)))",
                   re.IGNORECASE)


def _unphrased(question: str) -> str:
    """ "turn the cache on" / "switch off the cache" read as "enable the cache" / "disable the cache"."""
    def verb(m: re.Match) -> str:
        particle, words = (m.group(1) or m.group(3)).lower(), m.group(2) or ""
        return ("enable " if particle == "on" else "disable ") + words.strip()
    return _TURN.sub(verb, question)


def _content(question: str) -> list[str]:
    """Canonical stems of the question's content words (and of its opposites, "on"/"off"), in order."""
    return [_canonical(t) for t in tokens(question) if t not in FILLER and stem(t) not in _FILLER_STEMS and
            (t not in FUNCTION_WORDS or t in DIRECTIONAL or stem(t) in OPPOSITES)]


def _opposites(question: str) -> dict[str, str]:
    """The question's words that have opposites, by stem, with the name of their synonym group."""
    return {stem(t): _canonical(t) for t in tokens(question) if stem(t) in OPPOSITES}


def _swapped(a: list[str], c: list[str]) -> list[str]:
    """Two words that change places around something between them ("can a reader key create an admin
    key" / "can an admin key create a reader key"); moving a phrase whole ("per run, what ...") is not."""
    first_a = {w: i for i, w in reversed(list(enumerate(a)))}
    first_c = {w: i for i, w in reversed(list(enumerate(c)))}
    for x, x_at in first_a.items():
        for y, y_at in first_a.items():
            if y_at - x_at > 1 and first_c[x] - first_c[y] > 1:
                return [x, y]
    return []


def _substituted(a: list[str], c: list[str]) -> list[str]:
    """The words of `c` replaced in `a` when the two are otherwise the same words in the same order,
    and at most two words are replaced; [] for any other difference (a rewording)."""
    blocks = SequenceMatcher(a=c, b=a, autojunk=False).get_opcodes()
    if any(op in ("insert", "delete") for op, *_ in blocks):
        return []
    replaced = [(c[i1:i2], a[j1:j2]) for op, i1, i2, j1, j2 in blocks if op == "replace"]
    if not replaced or sum(len(old) for old, _ in replaced) > 2 or sum(len(new) for _, new in replaced) > 2:
        return []
    return [" ".join(old) + " → " + " ".join(new) for old, new in replaced]


def _specifics(question: str) -> set[str]:
    """Names, numbers, versions and identifiers (the first word of a question is not a name)."""
    body = question.strip()
    body = body[len(body.split()[0]):] if body else body
    return {" ".join(tokens(m.group(0))) for m in _SPECIFIC.finditer(body)} - {"", "i"}


@dataclass(frozen=True)
class Equivalence:
    same: bool
    reason: str
    # A difference no wording can undo (negation, another name or number, an opposite, swapped roles, a word
    # replaced in the same question). When False, they only differ in words the rule cannot match: an LLM judge
    # may decide (nodes/cache_lookup.py).
    conflict: bool = False


def same_question(asked: str, cached: str, cached_answer: str = "", passages: list[dict] | None = None) -> Equivalence:
    """Whether `asked` asks what `cached` asked, so the cached answer may be served for it.

    No conflict (negation, different name/number/version, antonym, swapped roles, a replaced word) may
    separate them. Then either they differ only in wording (inflections, synonyms, filler), or `asked`
    keeps every word of `cached` and adds only words the stored answer, or the passage sentence it
    comes from, states ("which port does the server listen on" for "what port does the server use")."""
    asked, cached = _unphrased(asked), _unphrased(cached)
    a_tokens, c_tokens = set(tokens(asked)), set(tokens(cached))
    if (a_tokens & NEGATIONS) != (c_tokens & NEGATIONS):
        return Equivalence(False, "one question is negated", conflict=True)
    named_a, named_c, named_answer = _specifics(asked), _specifics(cached), _specifics(cached_answer)
    if not named_a <= named_c | named_answer or not named_c <= named_a | named_answer:
        differ = sorted(named_a ^ named_c)
        return Equivalence(False, f"they name different things: {', '.join(differ[:4])}", conflict=True)
    a, c = _content(asked), _content(cached)
    only_a, only_c = set(a) - set(c), set(c) - set(a)
    differ = only_a | only_c
    # "to" vs "from" is a change of direction; a lone "to" ("the command to make") is not.
    directions = (set(a) & DIRECTIONAL, set(c) & DIRECTIONAL)
    # An opposite word only one question has, unless the other says it with a synonym ("run"/"start").
    canon_a, canon_c = {_canonical(t) for t in tokens(asked)}, {_canonical(t) for t in tokens(cached)}
    of_a, of_c = _opposites(asked), _opposites(cached)
    opposite_a = {w for w, group in of_a.items() if w not in of_c and group not in canon_c}
    opposite_c = {w for w, group in of_c.items() if w not in of_a and group not in canon_a}
    paired = {w for w in opposite_a if OPPOSITES[w] & opposite_c} | {w for w in opposite_c if OPPOSITES[w] & opposite_a}
    flipped = sorted(paired | ((opposite_a | opposite_c) - ALONE_HARMLESS)) + \
        (sorted(differ & DIRECTIONAL) if all(directions) else [])
    if flipped:
        return Equivalence(False, f"opposite or different action: {', '.join(flipped)}", conflict=True)
    if set(a) == set(c) and ((set(a) & DIRECTIONAL and a != c) or _swapped(a, c)):
        return Equivalence(False, "the same words in another order: the roles are swapped", conflict=True)
    differ -= DIRECTIONAL | FUNCTION_WORDS | ALONE_HARMLESS  # judged above
    if not differ:
        return Equivalence(True, "the questions differ only in wording")
    # A narrower wording of the same question: it keeps every word of the cached one and adds only
    # words the stored answer (or its passage sentence) states. A substitution (cost → token) is a
    # different question, even when the passage names both.
    dropped = sorted(only_c & differ)
    if substituted := _substituted(a, c):
        # Everything else is the same, word for word: the swapped words are what is asked about
        # ("token budget" / "time budget", "port" / "host").
        return Equivalence(False, f"one thing is replaced by another: {' / '.join(substituted)}", conflict=True)
    if dropped or not cached_answer:
        return Equivalence(False, f"they differ in {', '.join(sorted(differ)[:4])}")
    stated = set(_content(cached_answer)).union(
        *(_content(unit.text) for unit in stating_sentences(cached, cached_answer, passages or [])))
    uncovered = sorted((only_a & differ) - stated)
    if not uncovered:
        return Equivalence(True, "it adds to the cached question only words its stored answer or its passage sentence state")
    return Equivalence(False, f"they differ in {', '.join(uncovered[:4])}")
