"""One HTTP send for the webhook channels, through the outbound guard, with
the shared retry rule applied to the answer."""

from __future__ import annotations

from typing import Any

from signalfire.notify import outbound, retry
from signalfire.notify.models import SendResult
from signalfire.notify.outbound import OutboundPolicy, Reply


def call(channel: str, method: str, url: str, policy: OutboundPolicy, *, timeout: float,
         json_body: Any = None, headers: dict[str, str] | None = None,
         params: dict[str, str] | None = None) -> tuple[Reply | None, SendResult | None]:
    """``(reply, None)`` on a 2xx answer, else ``(reply or None, failed result)``."""
    reply = outbound.request(method, url, policy, json_body=json_body, headers=headers, params=params,
                             timeout=timeout)
    if 200 <= reply.status < 300:
        return reply, None
    if 300 <= reply.status < 400:
        return reply, SendResult.failed(f"{channel}: the receiver answered {reply.status} (a redirect, not "
                                        "followed: configure the final URL)", retryable=False, status=reply.status)
    return reply, SendResult.failed(f"{channel}: the receiver answered {reply.status}: {reply.text[:300].strip()}",
                                    retryable=retry.http_status_retryable(reply.status), status=reply.status,
                                    retry_after=reply.headers.get("retry-after", ""))
