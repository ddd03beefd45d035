"""The deadline a stage's outbound calls share (AI providers, notification
channels).

A stage attempt sets it when it starts (stages/runner.py): the pipeline's
``defaults.timeout_seconds`` from then, or the function's remaining time less
a margin to record the outcome, whichever comes first.  Every outbound call
takes :func:`bound` of its own timeout, so no call waits past the deadline
and the failure says which deadline cut it.

The deadline lives in a context variable: each Lambda invocation (each
thread of the local stack) has its own, and :func:`carry` hands it to the
worker threads a stage sends from (notify's parallel deliveries).  With no
deadline set (the API's calls), a call keeps its own timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

#: Shorter than this left, a call is not started: it could not get an answer.
MIN_CALL_SECONDS = 0.05


@dataclass(frozen=True)
class Deadline:
    at: float  # time.monotonic() when outbound calls must have ended
    #: what set it, for the failure's reason ("the pipeline's defaults.timeout_seconds=5")
    reason: str

    def remaining(self) -> float:
        return self.at - time.monotonic()


class DeadlinePassed(TimeoutError):
    """No time is left for an outbound call; the message names the deadline."""


_current: ContextVar[Deadline | None] = ContextVar("signalfire_deadline", default=None)


def current() -> Deadline | None:
    return _current.get()


@contextmanager
def within(seconds: float, reason: str) -> Iterator[Deadline]:
    """Outbound calls inside end within ``seconds`` from now (an outer
    deadline that comes sooner stays in force)."""
    new = Deadline(time.monotonic() + seconds, reason)
    outer = _current.get()
    if outer is not None and outer.at <= new.at:
        new = outer
    token = _current.set(new)
    try:
        yield new
    finally:
        _current.reset(token)


@dataclass(frozen=True)
class Bound:
    """One call's timeout: its own, or what the deadline leaves."""

    seconds: float
    #: the deadline's reason when it cut the call's own timeout, else ""
    cut_by: str = ""

    def says(self) -> str:
        """`` (cut at the stage's deadline: <reason>)`` when the deadline cut it."""
        return f" (cut at the stage's deadline: {self.cut_by})" if self.cut_by else ""


def bound(timeout: float) -> Bound:
    """``timeout`` for one call, cut to the time the deadline leaves.

    Raises DeadlinePassed when less than MIN_CALL_SECONDS is left: the call
    is not started."""
    found = _current.get()
    if found is None:
        return Bound(timeout)
    left = found.remaining()
    if left < MIN_CALL_SECONDS:
        raise DeadlinePassed(f"the stage's deadline has passed ({found.reason})")
    return Bound(left, found.reason) if left < timeout else Bound(timeout)


def carry(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` run with the caller's deadline, in whatever thread calls it (each
    call in a fresh copy of the caller's context, so threads never share one)."""
    parent = copy_context()

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return parent.copy().run(fn, *args, **kwargs)

    return run
