"""Offline prompt-injection screening of questions and of retrieved or scraped passages (OWASP LLM01).

Guardrail libraries need Hugging Face models at run time; these screens are patterns:
instruction overrides, role/system markers, requests for hidden configuration, invisible
or bidi-control characters, and base64/hex payloads that decode to such text.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("instruction override", re.compile(
        r"\b(ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all|any|your|the)\b"
        r"[^.\n]{0,30}\b(instructions?|prompts?|rules|directives|guidelines|context)\b", re.I)),
    ("role marker", re.compile(
        r"(^|\n)\s*(system|assistant|developer)\s*:|<\|?(im_start|im_end|system|endoftext)\|?>|\[/?INST\]|<</?SYS>>"
        r"|^#+\s*(system|instructions?)\b", re.I | re.M)),
    ("role hijack", re.compile(
        r"\byou are (now|no longer)\b|\bact as (an? )?(unrestricted|jailbroken|evil|dan)\b|\bdeveloper mode\b"
        r"|\bjailbreak\b|\bDAN\b|\bdo anything now\b", re.I)),
    ("exfiltration request", re.compile(
        r"\b(reveal|print|show|repeat|output|leak|tell me|give me|what is|what's)\b[^.\n]{0,30}\b(your|the)\b[^.\n]{0,20}"
        r"\b(system prompt|initial prompt|hidden (prompt|instructions)|instructions you were given|api[ -]?keys?|secrets?|canary|passwords?)\b",
        re.I)),
    ("new instructions", re.compile(r"\b(new|updated|real|actual) (instructions|task|system prompt)\s*:", re.I)),
]
_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}){16,}\b")


def _decoded_payloads(text: str) -> list[str]:
    out = []
    for blob in _BASE64.findall(text):
        try:
            out.append(base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    for blob in _HEX.findall(text):
        try:
            out.append(bytes.fromhex(blob).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
    return out


def screen_text(text: str) -> list[str]:
    """Why `text` looks like an injection attempt; empty if it looks benign."""
    flags = []
    if _INVISIBLE.search(text):
        flags.append("invisible or bidi-control characters")
    normalised = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))
    flags += [name for name, pattern in _PATTERNS if pattern.search(normalised)]
    for payload in _decoded_payloads(normalised):
        if any(pattern.search(payload) for _, pattern in _PATTERNS):
            flags.append("encoded instructions")
            break
    return flags


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
