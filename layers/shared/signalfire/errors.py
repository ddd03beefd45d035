"""Every error signalfire raises, in one module.

The class names are a contract: the state machine's ``Retry``/``Catch``
``ErrorEquals`` lists match them by name (Lambda reports the class name as
``errorType``), and ``http_status`` is the one place that maps an error onto
an HTTP answer.  ``retryable`` tells a caller whether trying again can help.
"""

from __future__ import annotations

from typing import Any


class SignalfireError(Exception):
    """Base class.  ``http_status`` and ``retryable`` are read by the API layer
    and by the state machine's retry policy."""

    http_status: int = 500
    retryable: bool = False
    #: False for errors only the webhook / reconciler raise, never a stage (so
    #: the ASL's Retry lists need not name them; tests/unit/test_asl_errors.py).
    in_stages: bool = True

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


# --- bad input (4xx, never retried) -------------------------------------------------


class BadRequestError(SignalfireError):
    http_status = 400


class PayloadValidationError(BadRequestError):
    """A webhook payload that no driver (or the forced driver) accepts."""


class InvalidJSONError(BadRequestError):
    """The body is not JSON."""


class UnauthorizedError(SignalfireError):
    http_status = 401


class ForbiddenError(SignalfireError):
    http_status = 403


class NotFoundError(SignalfireError):
    http_status = 404


class UnknownDriverError(NotFoundError):
    """The driver named in the URL does not exist."""


class ConflictError(SignalfireError):
    """An invalid state transition (e.g. resolving a closed incident)."""

    http_status = 409


class PayloadTooLargeError(SignalfireError):
    http_status = 413


class ItemTooLargeError(PayloadTooLargeError):
    """A record would pass DynamoDB's 400 KB item limit (store/codec.py)."""


class UnstorableValueError(BadRequestError):
    """A value DynamoDB cannot store (a number beyond 38 digits or its range,
    nesting past 32 levels, an empty key): store/codec.py names the field."""


class ConfigurationError(SignalfireError):
    """A bad pipeline definition, channel or provider configuration.  Not retried:
    the same configuration fails the same way."""

    http_status = 400


# --- our side (5xx) -------------------------------------------------------------------


class DeploymentConfigurationError(ConfigurationError):
    """The deployment itself is wrong, not the request: a grant missing from a
    function's role, a setting the template did not wire.  A 500 that says
    what is missing (never a secret); retrying cannot help, so not a 503."""

    http_status = 500
    in_stages = False


class TransientError(SignalfireError):
    """A passing fault on our side (throttling, a timeout): retrying helps."""

    http_status = 503
    retryable = True


class StoreUnavailableError(TransientError):
    """DynamoDB throttled or was unreachable."""


class DeadlineExceededError(StoreUnavailableError):
    """The invocation ran out of time before an AWS request could be sent:
    answered 503 by our code rather than left to API Gateway's timeout."""


class ConcurrentUpdateError(TransientError):
    """An optimistic-lock write lost a race too many times."""


class RunStartError(TransientError):
    """StartExecution failed for a run the alert change owes.  The run stays
    PENDING (owed): the sender's retry or the reconciler starts it."""

    in_stages = False


# --- pipeline stages (names matched by statemachine/pipeline.asl.json) -----------------


class StageRetryableError(TransientError):
    """A stage failed in a way that another attempt may fix (the ASL retries it)."""


class ProviderError(TransientError):
    """An intelligence provider failed or timed out (retried, then the local fallback)."""


class RetriesExhaustedError(SignalfireError):
    """A retryable stage failure past the pipeline's ``max_retries``: the
    final failure.  Not retryable, so the ASL (whose Retry MaxAttempts is the
    deployment's StageMaxRetries) does not try the stage again."""


class ProviderRejectedError(SignalfireError):
    """The provider refused the request (a 4xx other than 429: bad key, unknown
    model, request too large).  Not retried: the same request fails the same
    way; the state machine falls back to the local provider."""

    http_status = 502


class ProviderResponseError(SignalfireError):
    """The provider answered, but not with the JSON asked for (malformed,
    empty, or over the size cap).  Not retried (each attempt costs tokens);
    the state machine falls back to the local provider."""

    http_status = 502


class DeliveryFailedError(SignalfireError):
    """A notification channel refused the message for good (a 4xx webhook
    answer, a 5xx SMTP reply): retrying the same send cannot help."""

    http_status = 502


class RunStalled(TransientError):
    """A run made no progress within its deadline (RunDeadlineSeconds): its
    execution never started, died outside our code, or hung.  The reconciler
    records it; resume starts it again."""

    in_stages = False


class PipelineRunFailed(SignalfireError):
    """The state machine's terminal error for a run whose stage failed after its retries."""
