"""The one rule that decides whether a failed send is worth retrying.

Every channel reports its failure through these functions, so "retryable"
means the same thing for SMTP, Slack, PagerDuty and webhooks (Alertmanager's
``notify.Retrier`` plays this part there):

* HTTP: 408, 425, 429 and every 5xx are retryable (the receiver is busy or
  broken for now); other 4xx are not (the request itself is wrong: PagerDuty's
  and Slack's documented 400/403/404/410 answers); a redirect is not followed
  and not retried (a webhook URL that redirects is a configuration error).
* SMTP: a 4xx reply is a transient failure by RFC 5321 (retry), 5xx is
  permanent (do not).
* No answer at all (connection refused or reset, timeout, DNS failure) is
  retryable.
* Configuration errors and refused destinations are never retryable: the same
  configuration fails the same way.
"""

from __future__ import annotations

_RETRYABLE_HTTP = frozenset({408, 425, 429})


def http_status_retryable(status: int) -> bool:
    return status in _RETRYABLE_HTTP or status >= 500


def smtp_code_retryable(code: int) -> bool:
    return 400 <= code < 500


#: connection failures, timeouts, DNS: nothing was answered, trying again can help
NETWORK_FAILURE_RETRYABLE = True
#: a bad configuration or a destination the outbound guard refuses
CONFIGURATION_RETRYABLE = False
