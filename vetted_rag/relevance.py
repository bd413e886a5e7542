"""Deterministic answer check: does this answer answer *this* question?

Rules, chosen by measurement on labelled pairs (bench/RESULTS.md, `vetted-rag eval --graders`):
1. An abstention or a degenerate output never answers.
2. The answer must add something the question does not already say.
3. Expected answer type: when / what year → a date; which day → a weekday or date;
   how many / how much / how old → a number; who → a name; where → a place or location;
   "which city / which film / ..." → a name; a yes/no question → yes or no first;
   "A or B?" → one of the options. The type must be found in what the answer adds.
4. The answer's claim is tied to the question's focus: a sentence-length answer must restate
   enough of the question (its subject and relation) to show it answers it, not a
   neighbouring fact copied from the same passage; a short phrase is judged by its type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from vetted_rag.grounding import (
    CITATION,
    CONNECTIVE_STEMS,
    FUNCTION_WORDS,
    URL,
    cited_markers,
    code_blocks,
    content_words,
    degeneration,
    is_abstention,
    passage_sentences,
    sentence_words,
    sentences,
    stem,
    title_parts,
    tokens,
    with_subject,
)

# A sentence-length answer restates at least this share of the question's content words
# (measured: right answers in sentence form vs other sentences of the same passage).
FOCUS_SHARE = 0.6
# Up to this many content words an answer counts as a bare phrase ("Delhi", "`max_cost_usd`"); so does a
# longer one whose every content word is capitalised or a number: a name ("The United States Department
# of Health and Human Services") states nothing a sentence would have to tie to the question.
SHORT_ANSWER_WORDS = 4
# Words of a question's form, not of its focus ("how many", "what kind of", "how do I get").
QUESTION_FORM_WORDS = frozenset("many much kind sort way get gets exactly".split())
# The passage sentence that states the answer shares at least this many words with the question.
MIN_EVIDENCE_TIE = 1
# Answers the re-read offers as alternatives to the model's answer (4 options in all).
MAX_RIVALS = 3

_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekday|weekend|daily|weekly|every day"
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_TYPE_PATTERNS = {
    "date": re.compile(rf"\b(1[0-9]{{3}}|20[0-9]{{2}}|{_MONTHS}|{_WEEKDAYS}|century|centuries|decade|bc|ad|ago|"
                       r"yesterday|today|tomorrow|\d{1,2}(st|nd|rd|th)|\d{4}s|\d+\s*(seconds?|minutes?|hours?|days?|"
                       r"weeks?|months?|years?))\b|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}", re.I),
    "weekday": re.compile(rf"\b({_WEEKDAYS}|{_MONTHS}|\d{{1,2}}(st|nd|rd|th))\b", re.I),
    "number": re.compile(r"\d|\b(zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                         r"forty|fifty|hundred|thousand|million|billion|dozen|half|several|many|few|none|no|single|"
                         r"unlimited|once|twice)\b", re.I),
    # A capitalised word that is not a weekday or month, or a code identifier.
    "name": re.compile(rf"\b(?!(?i:{_WEEKDAYS}|{_MONTHS})\b)[A-Z][\w'’.-]*|`[^`]+`|\b\w+[_.]\w+\b"),
    "place": re.compile(r"\b[A-Z][\w'’.-]*|`[^`]+`|[\w./~-]+/[\w./-]*|\b(in|at|under|on|inside|near|from)\b", re.I),
}
# "what/which <noun>" questions whose noun asks for a particular type.
_NOUN_TYPES = {
    "date": "year years date dates century decade month era period time".split(),
    "weekday": "day weekday".split(),
    "number": ("number amount percentage percent population length height age distance size count total "
               "score rank capacity price cost duration").split(),
    "name": ("city country state town county province region continent nation island capital village place "
             "person man woman actor actress director singer player author writer band team company film movie "
             "album song magazine newspaper book series show club university college school party organization "
             "organisation group genus species language brand network station airport artist musician "
             "composer producer founder president king queen castle river mountain lake park stadium building bridge "
             "street road church museum hotel restaurant ship game episode character novel play opera poem channel "
             "studio label publisher league tournament event festival award prize battle war army airline "
             "nationality religion").split(),
}
_POLAR_START = re.compile(r"^\s*(is|are|was|were|do|does|did|can|could|has|have|had|will|would|should|shall|may|must|"
                          r"isn't|aren't|doesn't|don't|didn't|won't|can't)\b", re.I)
_ANSWERS_YES_NO = re.compile(r"^\s*(yes|no)\b", re.I)
# "Which species, A or B, is native to ...?" / "Of the two universities, A or B, which ...": the options
# stand between commas right after the question's opening noun.
_CHOICE_INSIDE = re.compile(r"^\W*(?:which|what|of the two)\b[^,?]{0,40},\s*(?:the\s+)?([^,?]+?)\s+or\s+(?:the\s+)?"
                            r"([^,?]+?)\s*,", re.I)
# "Which GPU does …?", "What encryption algorithm does …?": the noun before the verb says what kind of thing
# answers (the last of at most two words: in "Which US naval facility …" the first word is no noun).
_NOT_A_NOUN = r"(?!(?:else|exactly|then|ever|really|actually)\b)"
_WHICH_NOUN = re.compile(rf"^\W*(?:which|what)\s+(?:{_NOT_A_NOUN}[A-Za-z][\w-]*\s+)?{_NOT_A_NOUN}([A-Za-z][\w-]*)\s+"
                         r"(?:is|are|was|were|do|does|did|can|could|has|have|had|will|would|should|must|may)\b", re.IGNORECASE)
# "What is the maximum line count textwrap can process?": the value asked for is a limit or default of a named
# quantity (at most two words after the scale word, up to a function word or a name: "line count"). Not "how
# many <noun>": on HaluEval rows 0-8999 that lost 12 right answers ("145" square miles, "20,000 staff") for 6.
_LIMIT_OF = re.compile(r"\b(?:what|which)(?:'s|\s+is|\s+are|\s+was|\s+were)?\s+(?:the\s+)?(?:maximum|minimum|max|min|default)\s+"
                       r"((?:[a-z][a-z-]*\s+)?[a-z][a-z-]*)(?![\w.-])", re.IGNORECASE)
# "How do I set a cost budget?" asks for a way to do something, which a bare quantity ("50,000 tokens per run") is not.
_HOW_TO = re.compile(r"^\W*(?:how\s+(?:do|can|could|should|would|may|might)\s+(?:i|we|you|one)\b|how\s+to\b|"
                     r"what(?:'s|\s+is)\s+the\s+(?:best\s+)?way\s+to\b)", re.IGNORECASE)
# "How many retries does a failing call get?" counts retries; "60 seconds" measures a time. A number with a unit of
# measurement answers a count only of that unit.
_UNITS = (r"(ms|milliseconds?|seconds?|secs?|minutes?|mins?|hours?|days?|weeks?|months?|years?|bytes?|[kmgt]i?b|"
          r"kilobytes?|megabytes?|gigabytes?|percent|%|usd|dollars?|cents?)")
_UNIT = re.compile(rf"\b\d[\d,.]*\s*{_UNITS}(?![\w])", re.IGNORECASE)
_UNIT_WORD = re.compile(rf"{_UNITS}(?![\w])", re.IGNORECASE)
_HOW_MANY = re.compile(r"\bhow\s+many\s+([a-z][a-z-]*)", re.IGNORECASE)
_LEADING_NUMBER = re.compile(r"\W*(?:\d|(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|hundred|"
                             r"thousand)\b)", re.IGNORECASE)
_CHOICE = re.compile(r"[,:]?\s*(?:the\s+)?([^,?]+?)\s+or\s+(?:the\s+)?([^,?]+?)\s*\??\s*$", re.I)
# "What is uvicorn?" / "What is LangGraph Studio?": the question asks what a named thing is (one or two words,
# no article: "What is the default port?" asks for a value).
_DEFINITION = re.compile(r"^\W*what\s+is\s+(?!(?:the|a|an|it|this|that|there)\b)([\w.-]+(?:\s+[\w.-]+)?)\s*\?*\s*$",
                         re.IGNORECASE)
# What may follow "<subject> is" in an answer that says what the subject is: "uvicorn is an ASGI web server",
# "xxhash is NOT a cryptographic hash function"; not "pathspec is available from the GitHub repo".
_DEFINING = frozenset("a an the one not also another".split())
# An answer that opens by saying what some name is ("MurmurHash is …"); a pronoun or article is no name.
_NAME_IS = re.compile(r"\W*(?!(?:It|Its|This|That|These|Those|They|The|A|An)\b)((?:[A-Z][\w.-]*\s+){1,4})(?:is|are)\b")


def expected_type(question: str) -> str | None:
    """The kind of answer `question` asks for, or None when any kind may answer it."""
    q = " ".join(question.lower().split())
    if _POLAR_START.match(question) and not re.search(r"\bor\b", q):
        return "yes/no"
    if re.search(r"\b(which|what) (day|weekday)s?\b|\bon what day\b", q):
        return "weekday"
    # The wh-word must lead the question (or end it): "what happens when ..." asks for no date.
    if re.search(r"^\W*(since |until )?when\b|\bwhen\s*\?$|\b(what|which) (year|date|century|decade|month)\b"
                 r"|\bhow long ago\b", q):
        return "date"
    if re.search(r"\bhow (many|much|old|long|far|big|large|tall|high|often|fast|heavy)\b", q):
        return "number"
    if re.search(r"^\W*(who|whom|whose)\b|\b(by|to|for|with|of|after) whom\b|\bwho\s*\?$", q):
        return "name"
    if re.search(r"^\W*where\b|\b(from|in|at) where\b|\bwhere\s*\?$", q):
        return "place"
    found = re.search(r"\b(?:what|which)\s+((?:[a-z0-9'-]+\s+){0,3}?)([a-z]+)\b", q)
    if found:
        words = (found.group(1).split() + [found.group(2)])
        for word in words:
            for kind, nouns in _NOUN_TYPES.items():
                if word in nouns or word.rstrip("s") in nouns:
                    return kind
    return None


def undefined(question: str, claim: str) -> str:
    """Why `claim` does not say what the subject of a "What is <name>?" question is ("" when it does, or
    when the question is of another kind). Seen from the embedded model over package READMEs: "pathspec is
    available from the GitHub repo" and "MurmurHash (MurmurHash3)" (what mmh3 is an extension for)."""
    asked = _DEFINITION.match(" ".join(question.split()))
    if not asked:
        return ""
    subject = asked.group(1)
    plain = re.sub(r"[*`]", "", claim)  # emphasis and code marks; "_" is part of names
    said_is = [m.group(1).lower() for m in re.finditer(rf"(?<![\w-]){re.escape(subject)}\s+is\s+([\w-]+)", plain, re.I)]
    if said_is and not _DEFINING.intersection(said_is):
        return f"the question asks what {subject} is; \"{subject} is {said_is[0]} …\" does not say"
    # "MurmurHash is a set of fast hash functions" for "What is mmh3?": what another name is.
    other = _NAME_IS.match(plain)
    if other and not said_is and not _same_name(other.group(1), subject):
        return f"the question asks what {subject} is; the answer says what {other.group(1).strip()} is"
    # An acronym's expansion is a fine answer ("What is SOKOM?" -> "Special Operations Command").
    name = re.sub(r"\s*\([^)]*\)", "", plain).strip(" .")
    named = _NAME.fullmatch(name) or re.fullmatch(r"\w+[_.-]\w+", name)  # "filesystem_spec" for fsspec
    if not said_is and not subject.isupper() and subject.lower() not in plain.lower() and named:
        return f"the question asks what {subject} is; another name ({name!r}) does not say"
    return ""


def _same_name(one: str, other: str) -> bool:
    """"Python UUID Utils" and "uuid-utils", "PathSpec" and "pathspec": one contains the other, spelled alike."""
    a, b = (re.sub(r"[\W_]", "", x).lower() for x in (one, other))
    return bool(a and b) and (a in b or b in a)


def choice_options(question: str) -> list[str]:
    """["A", "B"] for "Which ..., A or B?" and "Which musician, A or B, played ...?" questions."""
    if not re.search(r"\b(which|who|what)\b", question, re.I):
        return []
    inside = _CHOICE_INSIDE.search(question)
    if inside:
        return [o.strip(" \"'") for o in inside.groups() if o.strip(" \"'")]
    found = _CHOICE.search(question)
    if not found:
        return []
    first = found.group(1)
    first = re.split(r",|\b(?:first|more|less|older|younger|larger|smaller|bigger|longer|shorter|earlier|later)\b\s*,?",
                     first)[-1]
    if len(first.split()) > 5:  # "Who has been a WWE star Seth Rollins or ...": the option is the trailing name
        names = re.findall(r"(?:[A-Z][\w'’.-]*\s*)+$", first.strip())
        first = names[0] if names else first
    return [o.strip(" \"'") for o in (first, found.group(2)) if o.strip(" \"'")]


def _has_type(kind: str, text: str) -> bool:
    """Whether `text` contains an answer of `kind`. A capitalised first word of a sentence is a
    name only when a capitalised word follows it or the answer is a bare phrase ("Nevada")."""
    if kind != "name":
        return bool(_TYPE_PATTERNS[kind].search(text))
    bare = len(text.split()) <= 3
    for found in _TYPE_PATTERNS["name"].finditer(text):
        before = text[:found.start()].rstrip()
        starts_sentence = not before or before[-1] in ".!?:"
        follows = re.match(r"\s+[A-Z]", text[found.end():])
        if bare or not starts_sentence or follows or not found.group(0)[0].isupper():
            return True
    return False


# A list of short items is a phrase, however many items: "Markdown, text, HTML files or a folder"; one with a
# verb is a sentence ("It is headquartered in Teaneck, New Jersey, United States").
_LIST_SEPARATOR = re.compile(r",|;|\band\b|\bor\b")
MAX_LIST_ITEM_WORDS = 2
_VERB = re.compile(r"\b(?:is|are|was|were|be|been|being|has|have|had|do|does|did|can|could|will|would|should|may|"
                   r"might|must)\b", re.IGNORECASE)


def is_phrase(claim: str) -> bool:
    """A bare phrase, judged by its type: a few content words, a list of short items, or a name however long."""
    if len(content_words(claim)) <= SHORT_ANSWER_WORDS:
        return True
    items = [content_words(item) for item in _LIST_SEPARATOR.split(claim.rstrip(" ."))]
    if len(items) >= 3 and all(1 <= len(item) <= MAX_LIST_ITEM_WORDS for item in items) and not _VERB.search(claim):
        return True
    words = [w.strip(".,;:!?()\"'") for w in claim.split()]
    return all(w[:1].isupper() or w[:1].isdigit() or not content_words(w) for w in words if w)


def _compounds(text: str) -> str:
    """`text` with each hyphenated word written as one ("python-xxhash" -> "pythonxxhash")."""
    return re.sub(r"\b\w+(?:-\w+)+\b", lambda m: m.group(0).replace("-", ""), text)


def _added_text(question: str, answer: str) -> str:
    """The answer with the question's own words removed: where the expected type must appear."""
    asked = {t for t in tokens(question)}
    return " ".join(w for w in re.findall(r"`[^`]+`|\S+", answer)
                    if w.startswith("`") or not set(tokens(w)) <= asked)


@dataclass(frozen=True)
class RelevanceVerdict:
    ok: bool
    reason: str


class Stating(NamedTuple):
    """A passage sentence that states part of an answer: its content words, those of the FAQ-style heading (a
    question) it stands under, and those of the sentence before it ("The rewrite budget `max_rewrites` limits …
    The default is 2 rewrites.")."""

    text: str
    words: frozenset[str]
    section: frozenset[str]
    before: frozenset[str] = frozenset()

    def tie(self, asked: set[str]) -> int:
        """How many of the question's words `asked` the sentence, with its heading, shares."""
        return len((self.words | self.section) & asked)


def _section_words(passage: dict) -> frozenset[str]:
    """The words of the passage's section heading when it asks a question ("How do I delete a file?"): what the
    sentences under it answer. A topic heading ties nothing: "$5 of free credits" under "Chroma Cloud" does not
    say what Chroma Cloud costs per month, nor does the document's name, which every sentence stands under."""
    section = title_parts(passage)[1]
    return frozenset(content_words(section)) if "?" in section else frozenset()


def stating_sentences(question: str, claim: str, passages: list[dict]) -> list[Stating]:
    """The passage sentences that state what some sentence of the answer adds to the question. A part that adds
    a code span or a URL ("At `/metrics`", "use `pip install x`") is stated where its spans are, whatever words
    frame them; a line of a code block where the passages show that line."""
    asked = content_words(_compounds(question))
    units: list[Stating] = []
    for passage in passages:
        text, section = with_subject(passage), _section_words(passage)
        words = sentence_words([text])
        units += [Stating(s, w, section, words[i - 1] if i else frozenset())
                  for i, (s, w) in enumerate(zip(passage_sentences([text]), words))]
    stating: dict[str, Stating] = {}  # each sentence once, however many parts of the answer it states
    for part in sentences(claim):
        added = content_words(part) - asked - CONNECTIVE_STEMS
        # A URL is stated where it is written, like a code span ("<https://websockets.readthedocs.io/>" for
        # "Where is the websockets documentation?"): the words around it carry the claim. A call without
        # arguments ("`shutil.which()`") names the function the passages write with its signature.
        spans = [span.lower().removesuffix("()") for span in new_code_spans(question, part) | set(URL.findall(part))]
        for unit in units:
            if (spans and all(s in unit.text.lower() for s in spans)) or \
                    (added and len(added & unit.words) * 2 >= len(added)):
                stating.setdefault(unit.text, unit)
    code_lines = {_code_line(line) for _, body in code_blocks(claim) for line in body.splitlines()} - {""}
    for unit in units:
        if _code_line(unit.text) in code_lines:
            stating.setdefault(unit.text, unit)
    return list(stating.values())


def _code_line(line: str) -> str:
    """A line of code as written anywhere: without a shell or REPL prompt, spacing normalised, lower case."""
    return " ".join(re.sub(r"^\s*(?:\$|>>>|\.\.\.|>)\s", "", line).split()).lower()


def evidence_tie(question: str, stating: list[Stating]) -> int:
    """How many question words the passage sentence that states an answer sentence's addition
    (`stating_sentences`), with the question heading it stands under, shares with the question (the best such
    sentence, for any sentence of the answer: a longer answer adds details to its key claim in further
    sentences); -1 when no passage sentence states any of them. A sentence under "Why was Python created in the
    first place?" is about who created Python, though it only says "written by Guido van Rossum"."""
    asked = content_words(question)
    return max((unit.tie(asked) for unit in stating), default=-1)


def unverifiable(question: str, answer: str) -> str | None:
    """Why no word-level check can confirm this answer, or None. A bare "yes"/"no" asserts the
    question's proposition (or its negation), and "A" for "Which came first, A or B?" rests
    on a comparison: the support check finds their words in the passages whether they are
    right or wrong. Without an LLM grader such answers are not released as checked."""
    claim = _ANSWERS_YES_NO.sub("", CITATION.sub(" ", answer)).strip(" .,!")
    if expected_type(question) == "yes/no" and not content_words(claim):
        return "a bare yes or no: no word of it can be checked against the passages; say what the passages state"
    if comparative_choice(question):
        return "a choice that rests on a comparison (first, more, older...), which word checks cannot confirm"
    return None


def comparative_choice(question: str) -> bool:
    """ "Which was founded first, A or B?" """
    return bool(choice_options(question)) and bool(_COMPARATIVE.search(question))


_COMPARATIVE = re.compile(r"\b(first|earlier|later|older|younger|more|most|less|fewer|larger|largest|smaller|bigger|"
                          r"longer|shorter|higher|lower|taller|better|worse|closer|further|farther|\w+er than)\b", re.I)


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def new_code_spans(question: str, text: str) -> set[str]:
    """The code spans of `text` that the question does not contain."""
    asked = question.lower()
    return {span for span in _CODE_SPAN.findall(text) if span.lower() not in asked}


def _written_as_code(text: str, passages: list[dict]) -> bool:
    """Whether a word of `text` is what the passages write as a code span: a lower-case name of a
    package, module or tool ("uvloop" for "`uvloop`") is a name, as a capitalised one is."""
    spans = {span for p in passages for span in _CODE_SPAN.findall(p["text"])}
    return any(word.strip(".,;:!?()[]") in spans for word in text.split())


def _names(passages: list[dict], sections: bool = True) -> str:
    """What names the documents of `passages`: their file names and titles, with or without the section
    part of a title ("Redis › Example")."""
    titles = (p.get("title", "") if sections else title_parts(p)[0] for p in passages)
    return " ".join(f"{Path(p.get('source', '')).stem} {title}" for p, title in zip(passages, titles))


def _asked_elsewhere(question: str, answer: str, passages: list[dict]) -> str:
    """The question's words that name another retrieved document (its file name or title, word for word:
    "served" does not name "Serving over HTTP") while the passages the answer cites, their file names and
    titles never say them ("" if none): the answer is about that other document's subject. "BSD licensed"
    cited from the HTTPX README for "What license does uvicorn use?", with the uvicorn README retrieved
    beside it; "conda install -c conda-forge markdown-it-py" for "How do I install attrs with conda?"."""
    own = {n for n in cited_markers(answer) if 1 <= n <= len(passages)}
    if not own:
        return ""
    cited = [passages[n - 1] for n in sorted(own)]
    said = content_words(URL.sub(" ", "\n".join(p["text"] for p in cited)) + " " + _names(cited))
    # A section title names no subject: "example" of "Which port does the Redis docker example use?" is not
    # the "sse-starlette › Example" section's.
    subjects = set(tokens(_names([p for n, p in enumerate(passages, 1) if n not in own], sections=False)))
    asked = {t for t in tokens(question) if t not in FUNCTION_WORDS and t in subjects}
    return ", ".join(sorted(t for t in asked if stem(t) not in said))


_MEASURE = re.compile(r"\bhow (\w+)", re.I)


def _focus(question: str) -> set[str]:
    """The question's content words without those of its form: "how many", "what kind of", and the
    measure of a "how long/often/far …" question, which the answer gives as a quantity."""
    form = {w.lower() for w in _MEASURE.findall(question) if expected_type(f"how {w}") == "number"}
    return content_words(question) - QUESTION_FORM_WORDS - content_words(" ".join(form))


def _focus_said(question: str, claim: str) -> tuple[set[str], set[str]]:
    """The question's focus words the answer says, and the focus, in the stricter of two readings: word by word,
    and with hyphenated names read as one word. "Settings management using Pydantic" names the parts of "What
    does pydantic-settings load settings from?", not what it asks."""
    readings = []
    for q, c in ((question, claim), (_compounds(question), _compounds(claim))):
        focus = _focus(q)
        readings.append((content_words(c) & focus, focus))
    return min(readings, key=lambda reading: len(reading[0]) / max(len(reading[1]), 1))


def _measured(question: str) -> set[str]:
    """The words of the quantity whose limit or default `question` asks for ("line count"), as stems."""
    found = _LIMIT_OF.search(question)
    if not found:
        return set()
    words = []
    for word in found.group(1).lower().split():
        if word in FUNCTION_WORDS or _POLAR_START.match(word):
            break
        words.append(word)
    return content_words(" ".join(words))


def check_relevance(question: str, answer: str, passages: list[dict] | None = None, *,
                    focus: bool = True) -> RelevanceVerdict:
    """Whether `answer` answers `question`. `focus=False` leaves out the tie of the question's words to the
    answer and its passage sentence: a semantic cache hit's answer was tied to the question it was graded
    for, and the equivalence rule has decided that the new wording asks the same thing."""
    claim = CITATION.sub(" ", answer).strip()
    if is_abstention(answer):
        return RelevanceVerdict(False, "the answer abstains")
    if not claim:
        return RelevanceVerdict(False, "the answer is empty")
    degenerate = degeneration(claim)
    if degenerate:
        return RelevanceVerdict(False, degenerate)
    asked, said = _focus(question), content_words(claim)
    kind = expected_type(question)
    if kind == "yes/no":
        if _ANSWERS_YES_NO.match(claim):
            return RelevanceVerdict(True, "a yes/no answer to a yes/no question")
        return RelevanceVerdict(False, "a yes/no question needs an answer that starts with yes or no")
    if _ANSWERS_YES_NO.match(claim) and len(said) <= 1:
        return RelevanceVerdict(False, "a bare yes/no does not answer a question that is not a yes/no question")
    options = choice_options(question)
    if options:
        named = [o for o in options if f" {' '.join(tokens(o))} " in f" {' '.join(tokens(claim))} "]
        if not named:
            return RelevanceVerdict(False, f"the question offers {' or '.join(options)}; the answer names neither")
        return RelevanceVerdict(True, f"names {named[0]!r}, one of the options the question offers")
    # A code span the question does not contain is an addition even when its words are the question's
    # ("At `/metrics`" for "Where are Prometheus metrics served?").
    # Connectives carry no claim (the support check lets them through unstated), so they add nothing:
    # "You can install using conda:" restates "How do I install xxhash with conda?". A hyphenated name is
    # one word: "xxHash" adds to "Which library is python-xxhash a binding for?"; "redis-py" to "What is redis-py?" not.
    added = (content_words(_compounds(claim)) - _focus(_compounds(question)) - CONNECTIVE_STEMS) | \
        new_code_spans(question, claim)
    if not added:
        return RelevanceVerdict(False, "the answer only restates the question")
    if kind:
        adds = _added_text(question, claim)
        if not _has_type(kind, adds) and not (kind == "name" and _written_as_code(adds, passages or [])):
            return RelevanceVerdict(False, f"the question asks for a {kind}; the answer gives none")
    not_defined = undefined(question, claim)
    if not_defined:
        return RelevanceVerdict(False, not_defined)
    counted, unit = _HOW_MANY.search(question), _UNIT.search(claim)
    if counted and unit and stem(unit.group(1).lower()) != stem(counted.group(1).lower()) and \
            not _UNIT_WORD.match(counted.group(1)):
        return RelevanceVerdict(False, f"the question counts {counted.group(1)}; the answer measures {unit.group(1)}")
    if _HOW_TO.match(question) and is_phrase(claim) and _LEADING_NUMBER.match(claim):
        return RelevanceVerdict(False, "the question asks how to do something; the answer is only a quantity")
    if not focus:
        return RelevanceVerdict(True, f"answers a {kind or 'open'} question")
    stating = stating_sentences(question, claim, passages) if passages else []
    tie = evidence_tie(question, stating) if passages else None
    if not is_phrase(claim) and asked:
        # Or the passage sentence the answer comes from (with its heading) carries every word of the focus ("A
        # budget ran out…" from "The status `unverified` means a budget ran out…"); most of them is not enough.
        shared, focus_words = _focus_said(question, claim)
        if len(shared) < FOCUS_SHARE * len(focus_words) and (tie or 0) < len(asked):
            return RelevanceVerdict(False, f"the answer does not address the question's focus "
                                           f"({len(shared)} of {len(focus_words)} question words: "
                                           f"{', '.join(sorted(focus_words - shared)[:5])} missing)")
    noun = _WHICH_NOUN.match(question)
    if noun and passages is not None and not is_phrase(claim):
        # "Which GPU does vetted-rag need?" answered with a copied paragraph about the CPU model: a sentence
        # answer to "which/what <noun>" names that noun, or comes from a passage sentence that does.
        kind_of = stem(noun.group(1).lower())
        if kind_of not in said and not any(kind_of in unit.words for unit in stating):
            return RelevanceVerdict(False, f"the question asks which {noun.group(1)}; the answer never names one")
    measured = _measured(question)
    if measured and stating and _NUMBER.search(claim) and \
            not any(measured <= unit.words | unit.section or measured <= unit.before | unit.section for unit in stating):
        # "70" (the default width) for "What is the maximum line count textwrap can process?": the sentence that
        # states the number, or the one before it, must say what it measures, every word of it in one of them
        # ("1 MiB" is a buffer size, not a file size; "budget" in one sentence and "rewrites" in the other is no
        # rewrite budget).
        return RelevanceVerdict(False, f"the passage sentence with the number never says {' '.join(sorted(measured))}: "
                                       "it measures something else")
    if tie is not None:
        if tie < MIN_EVIDENCE_TIE:
            return RelevanceVerdict(False, "no passage sentence states the answer together with what the question asks about"
                                    if tie < 0 else "the passage sentence behind the answer is not about the question")
        elsewhere = _asked_elsewhere(question, answer, passages)
        if elsewhere:
            return RelevanceVerdict(False, f"the answer comes from a passage that never says {elsewhere}, which names "
                                           "another retrieved document: it answers for another subject")
    return RelevanceVerdict(True, f"answers the question ({kind or 'open'} question; adds "
                                  f"{', '.join(sorted(added)[:4])})")


# ---- the passage sentence an answer comes from ---------------------------------------------------------------------

MIN_QUOTE_WORDS = 3
# Lines no quote is made of: headings, shell and REPL lines, fences, table rows, list items. (Not the lede's test,
# grounding.lede_offset, which takes a shell line for prose and leaves reST fields out.)
_NOT_QUOTABLE = ("#", "$", ">>>", "```", "|", "-", "*")


def passage_quote(question: str, answer: str, passages: list[dict]) -> str | None:
    """The passage sentence `answer` comes from, quoted with its citation: graded in place of an answer the model
    keeps rewriting with words no passage states. Of the prose sentences that state what the answer adds, the
    one that shares the most words with the question (counting a question heading it stands under); None when
    none shares any, and for a yes/no question or a choice between options, which a sentence about one option
    (its birth date, for "Who was born first, A or B?") would seem to answer."""
    if expected_type(question) == "yes/no" or choice_options(question):
        return None
    claim, asked = CITATION.sub(" ", answer).strip(), content_words(question)
    best: tuple[int, int, str] | None = None
    for n, passage in enumerate(passages, 1):
        # Verbatim: the lede as the passage writes it, without the document name it is read under (with_subject).
        subject = title_parts(passage)[0]
        named = f"{subject}: " if subject and f"{subject}: " not in passage["text"] else ""
        for unit in stating_sentences(question, claim, [passage]):
            text, tie = unit.text.strip().replace(named, "", 1), unit.tie(asked)  # named "": no change
            if tie and not text.startswith(_NOT_QUOTABLE) and len(unit.words) >= MIN_QUOTE_WORDS and \
                    (best is None or tie > best[0]):
                best = (tie, n, text)
    return f"{best[2]} [{best[1]}]" if best else None


# ---- rivals: what else in the passages could be the answer (for the re-read, nodes/grade_answer.py) -------

_MONTH_NAMES = _MONTHS.title()
_DATE = re.compile(rf"\b\d{{1,2}} (?:{_MONTH_NAMES}) \d{{4}}\b|\b(?:{_MONTH_NAMES}) \d{{1,2}}, \d{{4}}\b"
                   r"|\b1[0-9]{3}\b|\b20[0-9]{2}\b")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
# A capitalised name of one or more words, with the small words names contain ("Bank of England").
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of|the|de|van|von|and|da|del|la|le)?\s*[A-Z][\w'’.-]*)*")
_CALENDAR_WORD = re.compile(rf"(?i:{_WEEKDAYS}|{_MONTHS})")


def bare_answer(answer: str) -> str:
    """The answer without its citations and final full stop: "George Litto [1]." -> "George Litto"."""
    return CITATION.sub(" ", answer).strip().rstrip(".").strip()


def rival_answers(question: str, answer: str, passages: list[dict]) -> list[str]:
    """What else could answer `question` in place of a short `answer`: the other option of an "A or B?"
    question, else the other names, dates or numbers (as the answer is one) in the retrieved passages,
    ranked by how many question words their sentence shares. The generator's typical error is the right
    kind of thing in the wrong relation (a film's director given as its producer), often from the other
    passage of a two-step question, so every retrieved passage is searched: measured end to end, rivals
    from the cited passage only stopped 1 wrong answer and 2 right ones, from all passages 3 wrong and
    1 right (bench/RESULTS.md, re-read). Empty for a longer answer or one that is not a name, date or
    number."""
    claim = bare_answer(answer)
    if not claim or not is_phrase(claim):
        return []
    own = set(tokens(claim))
    options = choice_options(question)
    if options:
        return [o for o in options if not set(tokens(o)) <= own and not own <= set(tokens(o))][:MAX_RIVALS]
    if _DATE.search(claim):
        pattern = _DATE
    elif re.fullmatch(r"[\d,. ]+", claim):
        pattern = _NUMBER
    elif claim[0].isupper():
        pattern = _NAME
    else:
        return []
    asked, focus = set(tokens(question)), content_words(question)
    ranked: dict[str, int] = {}
    for sentence in passage_sentences([p["text"] for p in passages]):
        tie = len(content_words(sentence) & focus)
        for match in pattern.finditer(sentence):
            rival = match.group(0).strip().rstrip(".,;:")
            words = set(tokens(rival))
            # A word that carries content ("It" opening a sentence does not), not a month or weekday taken
            # for a name, not a part of the answer, and not the question's own subject.
            if (content_words(rival) and not (pattern is _NAME and _CALENDAR_WORD.fullmatch(rival))
                    and not words & own and not words <= asked):
                ranked[rival] = max(ranked.get(rival, -1), tie)
    return sorted(ranked, key=lambda rival: -ranked[rival])[:MAX_RIVALS]
