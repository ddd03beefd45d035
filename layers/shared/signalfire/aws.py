"""Lazily created, process-wide boto3 clients.

Clients are created on first use, never at import time: a client made at
import escapes moto in tests and slows every cold start.  boto3 clients are
thread-safe, so the local stack's threads share them.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
from botocore.config import Config

from signalfire.errors import DeadlineExceededError

_clients: dict[str, Any] = {}
_lock = threading.Lock()

# The time budget of one AWS call (docs/aws-fidelity.md).  The HTTP API waits
# 30 s at most and the functions behind it stop at 25 s, so every attempt must
# be short: DynamoDB, Secrets Manager and Step Functions answer in
# milliseconds when healthy.  "standard" retry mode retries throttling and
# timeouts with backoff (random up to 1 s, then up to 2 s); what is left after
# that surfaces as StoreUnavailableError (HTTP 503, the sender retries).
CONNECT_TIMEOUT_SECONDS = 1
READ_TIMEOUT_SECONDS = 3
MAX_ATTEMPTS = 3
ATTEMPT_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS
#: The longest one call can take: every attempt timing out, plus the waits between them.
CALL_BUDGET_SECONDS = MAX_ATTEMPTS * ATTEMPT_SECONDS + sum(2 ** k for k in range(MAX_ATTEMPTS - 1))
_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},  # the first try included
                 connect_timeout=CONNECT_TIMEOUT_SECONDS, read_timeout=READ_TIMEOUT_SECONDS)

# -- the invocation's deadline ------------------------------------------------------------
# A request must be answered by our code, never by API Gateway's timeout (which
# says 503 while a write may still land).  The resolver sets a deadline from the
# Lambda context; an attempt that could not finish before it is not sent.
_deadline = threading.local()


def set_deadline(seconds_from_now: float | None) -> None:
    """Stop sending AWS requests that could not finish ``seconds_from_now``
    (None: no deadline).  Per thread: the local stack serves requests in threads."""
    _deadline.at = None if seconds_from_now is None else time.monotonic() + seconds_from_now


def remaining_seconds() -> float | None:
    at = getattr(_deadline, "at", None)
    return None if at is None else at - time.monotonic()


def _guard(**_: Any) -> None:
    left = remaining_seconds()
    if left is not None and left < ATTEMPT_SECONDS:
        raise DeadlineExceededError(
            "the store did not answer in time and this request has no time left to try again; "
            "nothing more was sent: retry")


def client(service: str) -> Any:
    with _lock:
        found = _clients.get(service)
        if found is None:
            found = boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]
            # Before every attempt, retries included: no request is sent that the deadline would cut.
            found.meta.events.register("before-send", _guard)
            _clients[service] = found
        return found


def reset_clients() -> None:
    """Forget every client (tests start a fresh moto between cases)."""
    with _lock:
        _clients.clear()
