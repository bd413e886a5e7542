"""PII and secret redaction for logs, traces, the audit log and cache keys (OWASP LLM02)."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any, Callable, Iterable

_SECRET = re.compile(
    r"\b(?:sk|pk|rk|co|ghp|gho|xox[abp]|AKIA|ASIA|vr)[-_][A-Za-z0-9_\-]{16,}\b"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|(?i:\b(?:api[_-]?key|token|secret|password|bearer)\b[\"']?\s*[:=]?\s*[\"']?)[A-Za-z0-9_\-./+=]{12,}"
)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b")
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
_NATIONAL_ID = re.compile(r"\b\d{3}-\d{2}-\d{4}\b|\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b")
_PHONE = re.compile(r"(?<![\w/])\+?\d{1,3}?[\s.-]?\(?\d{2,4}\)?[\s.-]?\d{3,4}[\s.-]?\d{3,4}\b")


def luhn_ok(digits: str) -> bool:
    nums = [int(d) for d in digits][::-1]
    total = sum(n if i % 2 == 0 else (n * 2 - 9 if n * 2 > 9 else n * 2) for i, n in enumerate(nums))
    return len(nums) >= 13 and total % 10 == 0


def iban_ok(candidate: str) -> bool:
    s = candidate.replace(" ", "")
    rearranged = s[4:] + s[:4]
    try:
        return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1
    except ValueError:
        return False


def _card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[CARD]" if luhn_ok(digits) else match.group(0)


def _iban(match: re.Match) -> str:
    return "[IBAN]" if iban_ok(match.group(0)) else match.group(0)


# No pattern above matches fewer characters than the shortest e-mail address ("a@b.cd").
_SHORTEST_MATCH = 6

# What every pattern above needs somewhere: a secret's prefix or keyword, an "@", or two digits in a row.
# Text without any (most prose) skips the six substitutions.
_MAY_MATCH = re.compile(r"@|\d\d|AKIA|\b(?:sk|pk|rk|co|ghp|gho|xox[abp]|ASIA|vr)[-_]|(?i:api|token|secret|password|bearer)")

_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|CANARY", re.I)


@lru_cache(maxsize=4096)
def _secret_named(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def environment_secrets() -> dict[str, str]:
    """Secret-named environment variables (COHERE_API_KEY...) with values long enough to match
    safely, longest value first. Read on every call (the environment can change); only the
    name test is memoised, which was most of a cache hit's redaction time."""
    found = {k: v for k, v in os.environ.items() if _secret_named(k) and len(v) >= 8}
    return dict(sorted(found.items(), key=lambda item: len(item[1]), reverse=True))


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """Replace secrets (by pattern, and any value of a secret-named environment variable),
    emails, IBANs, Luhn-valid card numbers, national ids and phone numbers. `secrets`: the
    environment's secret values, when the caller has read them already (one read per object)."""
    for value in environment_secrets().values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, "[SECRET]")
    if len(text) < _SHORTEST_MATCH or not _MAY_MATCH.search(text):
        return text
    text = _SECRET.sub("[SECRET]", text)
    text = _EMAIL.sub("[EMAIL]", text)
    text = _IBAN.sub(_iban, text)
    text = _CARD.sub(_card, text)
    text = _NATIONAL_ID.sub("[ID]", text)
    return _PHONE.sub("[PHONE]", text)


def map_strings(value: Any, transform: Callable[[str], str]) -> Any:
    """`value` with `transform` applied to every string inside dicts and lists."""
    if isinstance(value, str):
        return transform(value)
    if isinstance(value, dict):
        return {k: map_strings(v, transform) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [map_strings(v, transform) for v in value]
    return value


def redact_obj(value: Any) -> Any:
    secrets = list(environment_secrets().values())  # one read of the environment per object, not per string
    return map_strings(value, lambda text: redact(text, secrets))
