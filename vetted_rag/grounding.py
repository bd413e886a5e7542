"""Deterministic grounding: an answer may say only what the passages it cites say.

Claim-level support, measured on HaluEval QA (bench/RESULTS.md): every factual unit of an
answer sentence — content words (Snowball-stemmed, so inflections fold), negations,
quantifiers and comparatives, multi-word names, numbers, versions, dates and code
identifiers — must be found in the passages that sentence cites. A sentence may add only
function words and the short list of connectives below; there is no "mostly supported"
share, because one unsupported word is usually the whole hallucination ("Python 2.7" where
the passage says 3.10+, "Mumbai" where it says Delhi). Question words get no exemption: a
restated premise the passages do not state is not established by them either.

Degenerate outputs (token loops, repeated lines or phrases, an answer cut off at the token
limit) fail too. The check needs no model, so it also works where the model is too small to
be trusted as a grader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

from vetted_rag.prompts import ABSTAIN

CITATION = re.compile(r"\[(\d+)\]")
_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.DOTALL)
# A fenced block: its language ("```bash") and its body.
_FENCED = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|$)", re.DOTALL)
# Python blocks are the self-check's: the model's own code runs in the sandbox (nodes/self_check.py).
SELF_CHECKED_LANGUAGES = frozenset({"python", "py"})

# Words that carry no claim. Negations, quantifiers and comparatives are deliberately not
# here ("not", "only", "both", "more", "first"): each changes what a sentence asserts.
FUNCTION_WORDS = frozenset(
    """a an the and or but if then else of to in on at by for with from as is are was were be been being
    it its this that these those there here which who whom what when where why how yes do does did
    can could should would will shall may might must you your we our they their he she his her i me my
    so just into about has have had having s t via per us them him hers theirs ours itself""".split()
)
# Connectives a sentence may add without the passages saying them (explicit, short). "parameter", "option",
# "value", "function" and "method" name the kind of a documented thing, as "command" does ("the `top_k` parameter"
# for "`top_k`, the number of passages"); they changed no labelled verdict on either HaluEval split.
CONNECTIVES = frozenset(
    """according passage passages context document documentation source sources therefore however thus hence
    namely respectively specifically need needs able simply following command use terminal
    parameter parameters option options value values function functions method methods""".split()
)
NEGATIONS = frozenset("not no never neither nor none without nothing nobody cannot".split())
_NUMBER_WORDS = {w: str(n) for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.pop("one")  # "the one that...": too often not a number

URL = re.compile(r"\b(?:https?|ftp)://[^\s<>()\[\]`'\"]+", re.I)
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)*")
# Code identifiers and flags: matched verbatim (max_cost_usd must not pass as "max", "cost", "usd").
_IDENTIFIER = re.compile(r"`([^`\n]{1,80})`|(?<![\w-])(--?[a-z][\w-]*|\w+(?:[_.]\w+)+|\w+(?:-\w+){2,})", re.I)
# Multi-word names: capitalised words, possibly joined by lower-case particles.
_NAME = re.compile(r"[A-Z][\w'’-]*\.?(?:\s+(?:(?:of|de|da|del|von|van|der|la|le|du|am|im|the|and|&)\s+)*[A-Z][\w'’-]*\.?)+")
_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return word if word[0].isdigit() else _STEMMER.stemWord(word)


def _prepared(text: str) -> str:
    text = text.lower().replace("’", "'").replace("n't", " not")
    return re.sub(r"'s\b", "", text)


def tokens(text: str) -> list[str]:
    """Lower-cased word and number tokens, possessives dropped, spelled numbers as digits."""
    return [_NUMBER_WORDS.get(t, t) for t in _TOKEN.findall(_prepared(text))]


def content_words(text: str) -> set[str]:
    """Stems of every word that can carry a claim."""
    return {stem(t) for t in tokens(text) if t not in FUNCTION_WORDS}


CONNECTIVE_STEMS = frozenset(map(stem, CONNECTIVES))


def _joined(text: str) -> str:
    return " " + " ".join(tokens(text)) + " "


def cited_markers(answer: str) -> list[int]:
    return [int(n) for n in CITATION.findall(answer)]


def is_abstention(answer: str) -> bool:
    """The answer is the abstention and claims nothing else (a text that quotes the abstention
    among other claims, such as a leaked prompt, is judged as a claim)."""
    text = CITATION.sub(" ", answer).lower()
    phrase = ABSTAIN.lower().rstrip(".")
    return phrase in text and not content_words(text.replace(phrase, " "))


_LEADING_REPLY = re.compile(r"^\s*(yes|no)\b[,.!:;]?\s*", re.I)


def strip_leading_reply(answer: str) -> str:
    """`answer` without a leading "Yes,"/"No," (its first remaining letter upper-cased)."""
    rest = _LEADING_REPLY.sub("", answer, count=1)
    return rest[:1].upper() + rest[1:] if rest != answer and rest else answer

# A sentence ends at . ! ? followed by space and a capital, digit, quote or bracket, but not
# after a single letter ("D.I.", "U.S."), "e.g." / "i.e." or a title ("Dr. Hannibal Lecter").
_NOT_A_TITLE = "".join(rf"(?<!\b{t}\.)" for t in "Dr Mr Ms Mrs St Jr Sr vs".split())
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\b[A-Za-z]\.)(?<!\be\.g\.)(?<!\bi\.e\.)" + _NOT_A_TITLE +
                           r"\s+(?=[A-Z0-9\"'(\[`])")


def code_blocks(answer: str) -> list[tuple[str, str]]:
    """(language, body) of each non-empty fenced code block of the answer; language lower-cased, "" if none."""
    return [(lang.lower(), body) for lang, body in _FENCED.findall(answer) if body.strip()]


def stated_code(answer: str) -> list[str]:
    """The code blocks the support check reads like sentences: every block but Python, which the
    self-check runs. A shell command or a configuration is a claim: "conda install -c bogus x" must
    fail where the passages never show it."""
    return [body for lang, body in code_blocks(answer) if lang not in SELF_CHECKED_LANGUAGES]


def sentences(answer: str) -> list[str]:
    prose = _CODE_BLOCK.sub(" ", answer)
    # Move "[n]" that follows the full stop ("... budget. [2]") in front of it.
    prose = re.sub(r"([.!?])((?:\s*\[\d+\])+)", r"\2\1", prose)
    return [s.strip() for s in re.split(r"\n\s*\n|" + _SENTENCE_END.pattern, prose) if s and s.strip()]


def passage_text(passage: dict) -> str:
    """What a passage can support: its text (with its lede's subject) and its title."""
    return with_subject(passage) + "\n" + passage.get("title", "")


# Markup that says nothing on a line of its own: HTML tags, images and badges.
_MARKUP = re.compile(r"<[^>]*>|\[?!\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])(?:\]\([^)]*\)|\]\[[^\]]*\])?")
# Lines that are no lede: headings, fences, reST directives and comments (".. image::"), fields (":target:") and
# list items (rich's README opens with a list of its translations).
_NOT_PROSE = ("#", "```", "~~~", "..", ":", "- ", "* ", "+ ", "•")
_UNDERLINE = re.compile(r"([=\-~^*+`#])\1{2,}")
_SUBSTITUTION = re.compile(r"\|[^|\s][^|]*\|")  # reST badges: |pypi-status|


def lede_offset(text: str) -> int | None:
    """Where the first prose line of `text` starts (None: it has none). Headings, fences, reST directives, field
    lines, underlined titles, badges and images are no prose; a line needs three words."""
    lines = text.splitlines(keepends=True)
    offset = 0
    for n, line in enumerate(lines):
        bare = URL.sub(" ", _MARKUP.sub(" ", line)).strip()
        underlined = n + 1 < len(lines) and _UNDERLINE.fullmatch(lines[n + 1].strip())  # a setext/reST heading
        if not (bare.startswith(_NOT_PROSE) or underlined or _UNDERLINE.fullmatch(bare)) \
                and len(re.findall(r"[A-Za-z]{2,}", _SUBSTITUTION.sub(" ", bare))) >= 3:
            return offset
        offset += len(line)
    return None


TITLE_SEPARATOR = " › "  # a chunk's title: its document's title, then its section's (knowledge/store.section_title)


def title_parts(passage: dict) -> tuple[str, str]:
    """(document, section) of a passage's title "Document › Section" (section "" for a document's own)."""
    document, _, section = passage.get("title", "").partition(TITLE_SEPARATOR)
    return document.strip(), section


def with_subject(passage: dict) -> str:
    """The passage's text, its document's first prose line (the lede) read as said of the document: a README's
    tagline names no subject ("An ASGI web server, for Python." under uvicorn's logo), a Wikipedia-style lede
    does. So a claim about the document ("Uvicorn is an ASGI web server") is stated together in that line. The
    lede is in the chunk marked `lede` at ingest: the first chunk that has a prose line."""
    text, subject = passage["text"], title_parts(passage)[0]
    offset = lede_offset(text) if passage.get("lede") and subject else None
    return text if offset is None else f"{text[:offset]}{subject}: {text[offset:]}"


_PASSAGE_SENTENCE = re.compile(r"(?<=[.!?])" + _NOT_A_TITLE + r"\s+(?=[A-Z0-9\"'(])|\n")


# A line break inside a paragraph of hard-wrapped Markdown or reST (the next line goes on in lower case, or
# with a link or a code span) joins two parts of one sentence; a list item, a heading, a prompt ("$ ",
# ">>> ") or an indented line starts a line of its own, and code blocks keep their lines.
_SOFT_BREAK = re.compile(r"(?<=[\w,)\]`*'\"])[ \t]*\n(?=[ ]{0,3}[a-z\[(`])")
_FENCE = re.compile(f"({_CODE_BLOCK.pattern})", re.DOTALL)  # kept by re.split


def _unwrapped(text: str) -> str:
    return "".join(part if part.startswith("```") else _SOFT_BREAK.sub(" ", part) for part in _FENCE.split(text))


def passage_sentences(texts: list[str]) -> list[str]:
    """Each sentence (or line) of the given passage texts."""
    return [s for text in texts for s in _PASSAGE_SENTENCE.split(_unwrapped(text))]


def sentence_words(texts: list[str]) -> list[frozenset[str]]:
    """The content words of each sentence (or line) of the given passage texts."""
    return [words for text in texts for words in _text_sentence_words(text)]


@lru_cache(maxsize=4096)
def _text_sentence_words(text: str) -> tuple[frozenset[str], ...]:
    # The same passages are read by every check of a run and by every hit on a cached answer.
    return tuple(frozenset(content_words(URL.sub(" ", s))) for s in passage_sentences([text]))


@dataclass(frozen=True)
class Evidence:
    """What a set of passages can support: their stems, joined token text and raw lower text."""

    stems: frozenset[str]
    joined: str
    raw: str

    @classmethod
    def of(cls, texts: list[str]) -> Evidence:
        text = "\n".join(texts)
        words = URL.sub(" ", text)  # an address states nothing: "tiran" of github.com/tiran/x is no author
        return cls(frozenset(content_words(words)), _joined(words), text.lower())


def identifiers(text: str) -> list[tuple[str, str]]:
    """(as written, bare) for each code span, flag ("-c") or identifier ("max_cost_usd", "markdown-it-py") of `text`."""
    return [(found.group(0), (found.group(1) or found.group(2)).strip()) for found in _IDENTIFIER.finditer(text)]


# An answer's opening clause that only restates the question: "When a client exceeds the rate limit, …" for
# "What happens when a client exceeds the rate limit?", "To run your own model, …" for "How do I run …?".
_LEAD_CLAUSE = re.compile(r"^\s*(?:when|whenever|if|once|to|for)\b[^,.;:!?`\[]{1,100},\s*", re.IGNORECASE)
# It is let through when the passages state most of its words: "exceeds" for "over the limit" is a rewording;
# "To enable the cache on a GPU," over passages that never say "enable" or "GPU" is a premise they do not support.
RESTATED_CLAUSE_STATED = 0.6


def without_restated_question(sentence: str, question: str, evidence: Evidence) -> str:
    """`sentence` without an opening clause that restates the question: most of the question's words in it are
    stated by `evidence`, and so is every other word ("To get disk usage statistics about a given path," for "How
    do I get the disk usage of a path?" over "Return disk usage statistics about the given path"). It is the
    question's own condition or purpose, not a claim of the answer (the rest of the sentence is)."""
    lead = _LEAD_CLAUSE.match(sentence) if question else None
    words = content_words(lead.group(0)) if lead else set()
    restated = words & content_words(question)
    if restated and words - evidence.stems <= restated and \
            len(restated & evidence.stems) >= RESTATED_CLAUSE_STATED * len(restated):
        return sentence[lead.end():]
    return sentence


def unsupported_units(sentence: str, evidence: Evidence, question: str = "") -> list[str]:
    """The claim units of `sentence` that `evidence` does not contain (empty: fully supported).
    A leading "Yes,"/"No," is the reply to a yes/no question, not a claim; the rest is checked; so is what
    follows an opening clause that restates `question`."""
    claim = without_restated_question(_LEADING_REPLY.sub("", CITATION.sub(" ", sentence)), question, evidence)
    missing = [url for url in URL.findall(claim) if url.lower().rstrip(".,;:") not in evidence.raw]
    claim = URL.sub(" ", claim)  # a URL is found verbatim or not at all
    missing += [t for t in dict.fromkeys(tokens(claim))
                if t not in FUNCTION_WORDS and t not in CONNECTIVES and stem(t) not in evidence.stems]
    for written, ident in identifiers(claim):
        if ident and ident.lower() not in evidence.raw and _joined(ident) not in evidence.joined:
            missing.append(written)
    for found in _NAME.finditer(claim):
        words = tokens(found.group(0))
        while words and words[0] in ("the", "a", "an"):
            words = words[1:]
        if len(words) >= 2 and f" {' '.join(words)} " not in evidence.joined:
            missing.append(found.group(0))
    return missing


# ---- degenerate output ------------------------------------------------------------------------

_TOKEN_LOOP = re.compile(r"(\w{2,}?)\1{3,}", re.I)  # "LangLangLangLang"


def degeneration(answer: str) -> str | None:
    """Why `answer` is a degenerate generation (loop, repetition), or None."""
    prose = _CODE_BLOCK.sub(" ", answer)
    loop = _TOKEN_LOOP.search(prose)
    if loop:
        return f"the answer loops on {loop.group(1)!r}"
    lines = [" ".join(tokens(line)) for line in prose.splitlines() if len(tokens(line)) >= 3]
    if len(lines) != len(set(lines)):
        return "the answer repeats a line"
    if not code_blocks(answer) and CITATION.sub(" ", prose).rstrip().endswith(":"):
        return "the answer stops where it introduces what it says (it ends with ':')"
    said = [" ".join(sorted(content_words(CITATION.sub(" ", s)))) for s in sentences(answer)]
    said = [s for s in said if s]
    if len(said) != len(set(said)):
        return f"the answer repeats itself ({len(said) - len(set(said))} repeated sentence(s))"
    words = tokens(CITATION.sub(" ", prose))
    grams = [" ".join(words[i:i + 4]) for i in range(len(words) - 3)]
    repeated = {g for g in grams if grams.count(g) >= 3}
    if repeated:
        return f"the answer repeats the phrase {sorted(repeated)[0]!r}"
    return None


# ---- the support check ------------------------------------------------------------------------


@dataclass
class SupportReport:
    ok: bool
    reason: str
    invalid_citations: list[int] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


# How many of a sentence's other words a passage sentence must state with each name or number
# the answer adds (fewer if the sentence has fewer). Measured on HaluEval dev rows: 1 → 0.958,
# 2 → 0.961, 3 → 0.964 balanced accuracy, right answers kept 0.997 in each case.
CLAIM_WORDS_TOGETHER = 3


def scattered_units(sentence: str, question: str, passage_texts: list[str]) -> list[str]:
    """What the sentence adds to the question must be stated *with* the rest of its claim: each
    added word shares a passage sentence with another word of the answer sentence, so a claim
    is not assembled from words of unrelated passage sentences ("Joywave certified the song
    gold" from "Joywave is a band" and "the song was certified gold")."""
    claim = _LEADING_REPLY.sub("", CITATION.sub(" ", sentence))
    said = content_words(claim)
    # Only specific units are held to this: names and numbers (generic verbs like "use" occur anywhere).
    specific = {stem(t) for t in tokens(" ".join(re.findall(r"\b[A-Z][\w'’-]*|\b\w*\d[\w.]*", claim)))}
    added = (said & specific) - content_words(question)
    restated = said - added
    if not added or not restated:
        return []
    need = min(CLAIM_WORDS_TOGETHER, len(restated))
    units = sentence_words(passage_texts)
    return sorted(w for w in added if not any(w in unit and len(unit & restated) >= need for unit in units))


def check_support(answer: str, passages: list[dict], require_citations: bool = True,
                  truncated: bool = False, question: str = "") -> SupportReport:
    """Every sentence's claim units must be found in the passages it cites (an uncited
    sentence: the passages the answer cites, or all of them when it cites none); given the
    question, what a sentence adds to it must be stated together in one passage sentence."""
    if is_abstention(answer):
        return SupportReport(True, "the answer abstains; it claims nothing")
    if truncated:
        return SupportReport(False, "the answer was cut off at the token limit")
    if not answer.strip():
        return SupportReport(False, "the answer is empty")
    degenerate = degeneration(answer)
    if degenerate:
        return SupportReport(False, degenerate)
    markers = cited_markers(answer)
    invalid = sorted({n for n in markers if not 1 <= n <= len(passages)})
    if invalid:
        return SupportReport(
            False, f"cites {', '.join(f'[{n}]' for n in invalid)}, which {'is' if len(invalid) == 1 else 'are'} "
            f"not among the {len(passages)} retrieved passages", invalid_citations=invalid)
    texts = [passage_text(p) for p in passages]
    if require_citations and not markers:
        # Say which words no passage states, so a regeneration knows what to change.
        everything = Evidence.of(texts)
        gaps = list(dict.fromkeys(g for x in sentences(answer) for g in unsupported_units(x, everything, question)))
        return SupportReport(False, "the answer cites no passage" + (
            f"; no passage states {', '.join(repr(g) for g in gaps)}" if gaps else ""), missing=gaps)
    answer_cited = sorted(set(markers)) or list(range(1, len(passages) + 1))
    unsupported, missing = [], []
    for sentence in sentences(answer):
        own = [int(n) for n in CITATION.findall(sentence)] or answer_cited
        cited = [texts[n - 1] for n in own]
        gaps = unsupported_units(sentence, Evidence.of(cited), question) or (
            [f"{w} (not stated with the rest of the claim)" for w in scattered_units(sentence, question, cited)]
            if question else [])
        if gaps:
            unsupported.append(sentence)
            missing += gaps
    code = stated_code(answer)
    cited_evidence = Evidence.of([texts[n - 1] for n in answer_cited]) if code else None
    for block in code:
        gaps = unsupported_units(block, cited_evidence)
        if gaps:
            unsupported.append(block.strip())
            missing += gaps
    if unsupported:
        return SupportReport(
            False, f"not in the cited passages: {', '.join(repr(m) for m in dict.fromkeys(missing))} "
            f"(in {unsupported[0][:100]!r})", unsupported=unsupported, missing=list(dict.fromkeys(missing)))
    return SupportReport(True, "every claim is found in its cited passages")


def citations_for(answer: str, passages: list[dict]) -> list[dict]:
    """Each valid [n] marker of the answer, in order of first use, mapped to its source passage."""
    seen: list[int] = []
    for n in cited_markers(answer):
        if 1 <= n <= len(passages) and n not in seen:
            seen.append(n)
    return [{"marker": n, "id": passages[n - 1]["id"], "source": passages[n - 1]["source"],
             "title": passages[n - 1].get("title", ""), "chunk": passages[n - 1].get("chunk", 0)} for n in seen]


def attribute_citations(answer: str, passages: list[dict], question: str = "") -> tuple[str, int]:
    """Cite, for each sentence, a passage that supports all its claim units (an opening clause that
    restates `question` is none), where the model cited none or cited passages that do not support it.

    Small models rarely write citation markers, and often write the wrong number. Fixing the
    marker never changes a claim: a sentence that no single passage fully supports keeps its
    markers (or stays uncited), and the support check judges it as written. Returns (answer,
    sentences whose citation was added or corrected).
    """
    if is_abstention(answer) or not passages:
        return answer, 0
    evidence = [Evidence.of([passage_text(p)]) for p in passages]
    if "```" in answer:
        # Sentences cannot be re-joined around a code block: an answer its own markers do not support
        # cites, after it, one passage that states all of it (its sentences and the code the support
        # check reads).
        whole = sentences(answer) + stated_code(answer)
        markers = sorted(set(cited_markers(answer)))
        if markers and all(1 <= n <= len(passages) for n in markers) and not any(
                unsupported_units(x, Evidence.of([passage_text(passages[n - 1]) for n in markers])) for x in whole):
            return answer, 0
        marker = next((n for n, e in enumerate(evidence, 1) if not any(unsupported_units(x, e) for x in whole)), None)
        return (f"{CITATION.sub('', answer).rstrip()}\n[{marker}]", 1) if marker else (answer, 0)

    def supporting(sentence: str) -> int | None:
        return next((n for n, e in enumerate(evidence, 1) if not unsupported_units(sentence, e, question)), None)

    def supported_as_cited(sentence: str, markers: list[int]) -> bool:
        valid = [n for n in markers if 1 <= n <= len(passages)]
        return len(valid) == len(markers) and not unsupported_units(
            sentence, Evidence.of([passage_text(passages[n - 1]) for n in valid]), question)

    cited, changed = [], 0
    for sentence in sentences(answer):
        markers = [int(n) for n in CITATION.findall(sentence)]
        if content_words(CITATION.sub(" ", sentence)) and not (markers and supported_as_cited(sentence, markers)):
            marker = supporting(sentence)
            if marker:
                body, end = re.match(r"(.*?)([.!?]?)$", CITATION.sub("", sentence).rstrip(), re.DOTALL).groups()
                sentence, changed = f"{body.rstrip()} [{marker}]{end}", changed + 1
        cited.append(sentence)
    return " ".join(cited), changed
