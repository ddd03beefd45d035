"""One redaction rule for everything shown or recorded (seed: values under
keys containing "key", "secret", "token", "password" or "api" become ``***``).

Keys that match a word but hold no secret are exempt: token *counts*
(``*_tokens``), a length cap (``max_tokens``) and a key's *name*
(``api_key_ref``, which names an SSM parameter or secret, never its value).
"""

from __future__ import annotations

from typing import Any

SENSITIVE_WORDS = ("key", "secret", "token", "password", "api", "authorization")
NOT_SECRET = frozenset({"api_key_ref"})
MASK = "***"


def is_sensitive(key: Any) -> bool:
    k = str(key).lower()
    if k in NOT_SECRET or k.endswith("_tokens"):
        return False
    return any(w in k for w in SENSITIVE_WORDS)


def redact(value: Any) -> Any:
    """A copy of ``value`` with every sensitive key's value replaced by ``***``."""
    if isinstance(value, dict):
        return {k: (MASK if is_sensitive(k) and v not in (None, "") else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
