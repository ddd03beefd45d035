"""Logger, Tracer and Metrics, created once and shared by every module.

Configured from the environment that template.yaml sets
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_NAMESPACE).

Every handler clears the logger's keys at the start of each invocation
(``inject_lambda_context(clear_state=True)``): a warm Lambda environment
would otherwise carry one invocation's run_id into the next.  The keys are
also kept per thread (:class:`InvocationFormatter`), so where several
invocations share one process at once (``signalfire local``) each line
carries only its own invocation's keys.
"""

from __future__ import annotations

import os
import threading
import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

#: ``json`` (the default, what CloudWatch and Logs Insights read) or ``text``
#: (one readable line per event, for a person at a terminal).
LOG_FORMAT_ENV = "SIGNALFIRE_LOG_FORMAT"
#: Powertools' switch, set by template.yaml from the Tracing parameter.
TRACE_DISABLED_ENV = "POWERTOOLS_TRACE_DISABLED"

# Keys that describe the Lambda environment rather than the event: the JSON
# form keeps them, the text form leaves them out.
_TEXT_OMITS = frozenset({
    "level", "location", "message", "timestamp", "service", "cold_start", "function_name",
    "function_memory_size", "function_arn", "function_request_id", "correlation_id", "sampling_rate",
    "xray_trace_id", "exception", "exception_name", "stack_trace",
})


class InvocationFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter whose appended keys belong to the thread
    that appended them.

    Powertools keeps appended keys (``append_keys``, the Lambda context,
    the correlation id) in one dict on the formatter.  Lambda runs one
    invocation at a time per environment, so that is enough there when each
    invocation starts with ``clear_state=True``; in one process serving
    concurrent invocations, the keys of one would appear on another's lines.
    Here that dict (``log_format``) is per thread: a thread starts from the
    keys set when the logger was created, and its appends, removals and
    clears touch only its own copy.
    """

    def __init__(self, *args: Any, text: bool | None = None, **kwargs: Any) -> None:
        self._threads = threading.local()
        self._base: dict[str, Any] = {}
        self._sealed = False
        if text is None:
            text = os.environ.get(LOG_FORMAT_ENV, "json").strip().lower() == "text"
        self.text = text
        super().__init__(*args, **kwargs)

    def seal(self) -> None:
        """From now on keys are per thread (called once the logger is built)."""
        self._sealed = True

    @property  # type: ignore[override]
    def log_format(self) -> dict[str, Any]:
        if not self._sealed:
            return self._base
        keys = getattr(self._threads, "keys", None)
        if keys is None:
            keys = self._threads.keys = dict(self._base)
        return keys

    @log_format.setter
    def log_format(self, value: dict[str, Any]) -> None:
        if self._sealed:
            self._threads.keys = value
        else:
            self._base = value

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        return render_text(log) if self.text else super().serialize(log)


def render_text(log: dict[str, Any]) -> str:
    """One line a person can read: time, level, function, message, then the
    event's own keys (``run_id=... stage=...``); a traceback follows."""
    stamp = str(log.get("timestamp") or "")
    clock = stamp[11:23] if len(stamp) >= 23 else stamp
    parts = [clock, f"{str(log.get('level') or ''):<7}"]
    if log.get("function_name"):
        parts.append(f"[{log['function_name']}]")
    parts.append(str(log.get("message")))
    for key, value in log.items():
        if key in _TEXT_OMITS or value is None or value == "" or value == {} or value == []:
            continue
        if isinstance(value, dict):
            value = " ".join(f"{k}={v}" for k, v in value.items() if v is not None)
            parts.append(f"{key}=({value})")
        else:
            parts.append(f"{key}={value}")
    line = " ".join(parts)
    if log.get("exception"):
        line += "\n" + str(log["exception"])
    return line


def tracing_enabled() -> bool:
    """X-Ray tracing is on in a Lambda function whose template sets
    ``Tracing: Active`` (it sets POWERTOOLS_TRACE_DISABLED=false then)."""
    disabled = os.environ.get(TRACE_DISABLED_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and not disabled


class NoTracer:
    """What the handlers use of Powertools' Tracer, doing nothing.

    Powertools' Tracer imports the X-Ray SDK (about a fifth of a function's
    cold init, bench/cold_start.py) even when tracing is disabled; without
    tracing we never create one."""

    def capture_lambda_handler(self, lambda_handler: Any = None, **_: Any) -> Any:
        return lambda_handler if lambda_handler is not None else (lambda fn: fn)

    def capture_method(self, method: Any = None, **_: Any) -> Any:
        return method if method is not None else (lambda fn: fn)

    def put_annotation(self, key: str, value: Any) -> None:
        """Annotations go nowhere without tracing."""

    def put_metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        """Metadata goes nowhere without tracing."""


logger = Logger(logger_formatter=InvocationFormatter())
if isinstance(logger.registered_formatter, InvocationFormatter):
    logger.registered_formatter.seal()
tracer: Tracer | NoTracer = Tracer() if tracing_enabled() else NoTracer()
metrics = Metrics()

# A request that emits no business metric is normal here (queries, health checks).
warnings.filterwarnings("ignore", message="No application metrics to publish")
