"""The HTTP API first: pipeline work steps aside while requests are served.

One Python process hosts the HTTP API and every pipeline execution, and
they share one interpreter.  On AWS an execution runs on Step Functions'
and Lambda's own capacity and never slows an API answer; here, without a
rule, a sender's answer waits behind the runs earlier webhooks started (at
one sender, four running executions took four fifths of the interpreter).

So work done outside a request (executions, their stage functions, the
schedules) waits before each DynamoDB call while any request is being
served, for at most ``STEP_ASIDE_SECONDS`` each time.  Requests are served
first; runs still progress under a sustained storm (each call waits at
most that long) and drain at full speed once the API is idle.  A sender
sees answers that do not depend on how many runs are queued, which is what
keeps it from timing out and retrying (and, for Alertmanager, from sending
everything again).

The bound was 20 ms.  Under 8 senders the API is almost never idle, so
every run's call waited its 20 ms and then took the interpreter anyway:
four executions took a third of it back, and a webhook's answer grew with
the backlog (the p50 of a burst's last 10% was 1.7-2.7x its first).  At
1 s a run under a storm still makes a call a second (the wait counts
against the remaining time its stage functions read), and the API keeps
the interpreter (docs/local-mode.md, docs/benchmarks.md).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The longest a piece of pipeline work waits, per DynamoDB call, for the API to go idle.
STEP_ASIDE_SECONDS = 1.0

_idle = threading.Condition()
_serving = 0
_request = threading.local()


@contextmanager
def serving_request() -> Iterator[None]:
    """Mark the calling thread as serving an HTTP request for the block."""
    global _serving
    _request.active = True
    with _idle:
        _serving += 1
    try:
        yield
    finally:
        _request.active = False
        with _idle:
            _serving -= 1
            if _serving == 0:
                _idle.notify_all()


def step_aside(most: float = STEP_ASIDE_SECONDS) -> None:
    """Outside a request: wait (at most ``most`` seconds) while requests are served."""
    if not _serving or getattr(_request, "active", False):
        return
    with _idle:
        _idle.wait_for(lambda: _serving == 0, timeout=most)


def requests_in_flight() -> int:
    return _serving
