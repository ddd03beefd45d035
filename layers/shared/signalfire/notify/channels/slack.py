"""Slack incoming webhooks (seed: SlackNotifyDriver).

The body is Block Kit (a header, the rendered text, fields for severity,
status, where and since, links as buttons) plus the top-level ``text`` Slack
shows in notifications and falls back to; the severity colour is an
attachment bar.  Slack answers 200 ``ok``; 400 ``invalid_payload``, 403
``action_prohibited``, 404 ``channel_not_found`` and 410
``channel_is_archived`` are permanent, 429 and 5xx are retried.  Outside local
mode the URL must start with ``https://hooks.slack.com/``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from signalfire.notify.channels._http import call
from signalfire.notify.channels.base import Channel, ChannelConfig
from signalfire.notify.models import SEVERITY_COLORS, SEVERITY_SLACK_EMOJIS, NotificationMessage, SendResult
from signalfire.notify.outbound import DestinationRefused, check_url

SLACK_PREFIX = "https://hooks.slack.com/"
# Block Kit limits: header text 150, section text 3000, 10 fields of 2000, 25 buttons per actions block.
_HEADER, _SECTION, _FIELD = 150, 3000, 2000


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SlackConfig(ChannelConfig):
    webhook_url: str = Field(min_length=1, max_length=2000, description="Incoming webhook URL (secret; may be a reference)")
    channel: str | None = Field(default=None, max_length=200, description="Channel override")
    username: str | None = Field(default=None, max_length=80, description="Bot user name")
    icon_emoji: str | None = Field(default=None, max_length=80, description="Bot icon, e.g. :rotating_light:")
    timeout: float = Field(default=30, gt=0, le=30, description="Request timeout, seconds")


class SlackChannel(Channel):
    name: ClassVar[str] = "slack"
    description: ClassVar[str] = "Slack incoming webhook: Block Kit with fallback text and severity colour."
    config_model = SlackConfig
    secret_keys: ClassVar[tuple[str, ...]] = ("webhook_url",)

    def check_destinations(self, config: SlackConfig, *, resolve_names: bool) -> None:  # type: ignore[override]
        if not self.runtime.local_mode and not config.webhook_url.startswith(SLACK_PREFIX):
            raise DestinationRefused(f"webhook_url must start with {SLACK_PREFIX}")
        check_url(config.webhook_url, self.runtime.policy, resolve_name=resolve_names)

    def payload(self, message: NotificationMessage, config: SlackConfig) -> dict[str, Any]:
        ctx = self.context(message)
        emoji = SEVERITY_SLACK_EMOJIS.get(message.severity, "")
        fallback = f"{ctx['label']}: {message.title}" + (f" on {', '.join(ctx['hosts'][:3])}" if ctx["hosts"] else "")
        body = self.render(config, "template", "text", message) or message.message or message.title
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": _cut(f"{ctx['label']}: {message.title}", _HEADER),
                                        "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"{emoji} {body}", _SECTION)}},
        ]
        fields = [("Severity", message.severity)]
        incident = ctx["incident"]
        if incident:
            fields += [("Status", str(incident.get("status", ""))), ("Since", f"{ctx['since']} ({ctx['duration']})")]
        if ctx["hosts"]:
            fields.append(("Where", ", ".join(ctx["hosts"][:5])))
        blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": _cut(f"*{k}*\n{v}", _FIELD)}
                                                      for k, v in fields[:10]]})
        if message.links:
            blocks.append({"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": _cut(link.text, 75)}, "url": link.href}
                for link in message.links[:5]]})
        context = " · ".join(f"{k} {v}" for k, v in (("run", message.tags.get("run_id")),
                                                     ("source", message.tags.get("source"))) if v)
        if context:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(context, _FIELD)}]})
        payload: dict[str, Any] = {
            "text": _cut(fallback, 3000), "blocks": blocks,
            "attachments": [{"color": SEVERITY_COLORS.get(message.severity, "#888888"), "fallback": _cut(fallback, 3000),
                             "blocks": [{"type": "context", "elements": [{"type": "mrkdwn",
                                         "text": f"{emoji} {message.severity} · {message.event.value}"}]}]}],
        }
        for key in ("channel", "username", "icon_emoji"):
            value = getattr(config, key)
            if value:
                payload[key] = value
        return payload

    def _send(self, message: NotificationMessage, config: SlackConfig) -> SendResult:  # type: ignore[override]
        reply, failure = call("slack", "POST", config.webhook_url, self.runtime.policy, timeout=self.timeout(config),
                              json_body=self.payload(message, config))
        if failure is not None:
            return failure
        assert reply is not None
        return SendResult.ok(None, status=reply.status, response=reply.text[:100])
