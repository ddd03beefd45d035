"""Lazily created, process-wide boto3 clients.

Clients are created on first use, never at import time: a client made at
import escapes moto in tests and slows every cold start.  boto3 clients are
thread-safe, so the local stack's threads share them.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

_clients: dict[str, Any] = {}
_lock = threading.Lock()
# "standard" retry mode already retries throttling with backoff; what is left
# after that surfaces as StoreUnavailableError (HTTP 503).
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10)


def client(service: str) -> Any:
    with _lock:
        found = _clients.get(service)
        if found is None:
            found = boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]
            _clients[service] = found
        return found


def reset_clients() -> None:
    """Forget every client (tests start a fresh moto between cases)."""
    with _lock:
        _clients.clear()
