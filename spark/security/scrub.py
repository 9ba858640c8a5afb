"""PII scrubbing: nothing that identifies a person or grants access leaves in an event."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # JWTs first: their segments would otherwise half-match the other patterns
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), "[jwt]"),
    (re.compile(r"\bspk_[A-Za-z0-9]+_[A-Za-z0-9_-]+"), "[api_key]"),
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [token]"),
    (re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_-]{16,}"), "[api_key]"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
)

#: keys whose values are secrets whatever they look like
_SECRET_KEYS = re.compile(
    r"(?i)(password|passwd|secret|token|api[_-]?key|authorization|credential|private[_-]?key)"
)


def _words(text: str) -> bool:
    # Exact only for ASCII: IGNORECASE also folds a few non-ASCII letters, so other text is
    # always searched.
    if not text.isascii():
        return True
    lowered = text.lower()
    return "bearer" in lowered or "basic" in lowered or "token" in lowered


#: per pattern, a test every text it matches passes: most log lines and event strings hold
#: none of these, and the tests cost a fraction of a regex scan (the e-mail pattern's most)
_MAY_MATCH: tuple[Callable[[str], bool], ...] = (
    lambda text: "eyJ" in text,
    lambda text: "spk_" in text,
    _words,
    lambda text: "k-" in text,
    lambda text: "@" in text,
)


def scrub_text(text: str) -> str:
    """The text with e-mail addresses, API keys, bearer tokens and JWTs masked."""
    for (pattern, replacement), may_match in zip(_PATTERNS, _MAY_MATCH, strict=True):
        if may_match(text):
            text = pattern.sub(replacement, text)
    return text


@lru_cache(maxsize=4096)
def _secret_key(key: str) -> bool:
    # Events and log extras use the same few field names over and over.
    return _SECRET_KEYS.search(key) is not None


def scrub(value: Any) -> Any:
    """A copy of a JSON-like value with PII masked, and secret-named fields redacted."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {
            str(k): "[redacted]" if v and _secret_key(str(k)) else scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value
