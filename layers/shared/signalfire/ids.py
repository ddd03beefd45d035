"""Identifiers: time-sortable random ids, and deterministic ids for dedup."""

from __future__ import annotations

import hashlib
import os
import time


def new_id(prefix: str) -> str:
    """``<prefix>_<12 hex ms timestamp><10 hex random>``: sorts by creation time."""
    return f"{prefix}_{int(time.time() * 1000):012x}{os.urandom(5).hex()}"


def stable_id(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
    return f"{prefix}_{digest[:24]}"


def alert_id(source: str, fingerprint: str) -> str:
    """An alert's id follows from (source, fingerprint), so "create or update"
    is a single conditional write on one key."""
    return stable_id("al", source, fingerprint)


def group_id(source: str, group_key: str) -> str:
    return stable_id("grp", source, group_key)
