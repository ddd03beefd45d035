"""Store-level outcomes the domain reacts to (not HTTP errors)."""

from __future__ import annotations


class ConditionFailed(Exception):
    """A conditional write lost: the item exists already / changed meanwhile."""
