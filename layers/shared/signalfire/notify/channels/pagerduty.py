"""PagerDuty Events API v2 (seed: PagerDutyNotifyDriver).

``trigger`` opens (or updates) an alert, ``acknowledge`` and ``resolve`` act
on the alert with the same ``dedup_key``; the key derives from the incident
(:func:`signalfire.notify.compose.dedup_key`), so acknowledging or resolving
the incident in signalfire does the same in PagerDuty.  The summary is at
most 1024 characters and the severity one of critical, error, warning, info.
PagerDuty answers 202 with the dedup_key; 400 is permanent, 429 and 5xx are
retried (PagerDuty's documented retry table).
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Literal

from pydantic import Field

from signalfire.notify.channels._http import call
from signalfire.notify.channels.base import Channel, ChannelConfig
from signalfire.notify.models import PRIORITY_MAP, NotificationEvent, NotificationMessage, SendResult
from signalfire.notify.outbound import DestinationRefused, check_url

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SUMMARY_MAX = 1024
DEDUP_MAX = 255


class PagerDutyConfig(ChannelConfig):
    integration_key: str = Field(min_length=20, max_length=64,
                                 description="Events API v2 integration (routing) key (secret; may be a reference)")
    event_action: Literal["trigger", "acknowledge", "resolve"] = Field(
        default="trigger", description="Action for messages that are not an incident's acknowledge or resolve")
    dedup_key: str | None = Field(default=None, max_length=DEDUP_MAX,
                                  description="Fixed dedup key (default: derived from the incident)")
    client: str | None = Field(default="signalfire", max_length=200, description="Client name shown in PagerDuty")
    client_url: str | None = Field(default=None, max_length=2000, description="Client URL shown in PagerDuty")
    events_url: str = Field(default=EVENTS_URL, max_length=2000, description="Events API endpoint")
    timeout: float = Field(default=30, gt=0, le=30, description="Request timeout, seconds")


class PagerDutyChannel(Channel):
    name: ClassVar[str] = "pagerduty"
    description: ClassVar[str] = "PagerDuty Events API v2: trigger, acknowledge and resolve by dedup_key."
    config_model = PagerDutyConfig
    secret_keys: ClassVar[tuple[str, ...]] = ("integration_key",)

    def check_destinations(self, config: PagerDutyConfig, *, resolve_names: bool) -> None:  # type: ignore[override]
        if not self.runtime.local_mode and not config.events_url.startswith("https://"):
            raise DestinationRefused("events_url must use https://")
        check_url(config.events_url, self.runtime.policy, resolve_name=resolve_names)

    @staticmethod
    def dedup_key_of(message: NotificationMessage, config: PagerDutyConfig) -> str:
        key = config.dedup_key or message.dedup_key
        if not key:  # a message about no incident: the same title deduplicates
            key = "signalfire/" + hashlib.sha256(message.title.encode()).hexdigest()[:32]
        return key[:DEDUP_MAX]

    def event(self, message: NotificationMessage, config: PagerDutyConfig) -> dict[str, Any]:
        action = message.event.value if message.event != NotificationEvent.TRIGGER else config.event_action
        body: dict[str, Any] = {"routing_key": config.integration_key, "event_action": action,
                                "dedup_key": self.dedup_key_of(message, config)}
        if action != "trigger":
            return body  # acknowledge and resolve need only the key (PagerDuty ignores a payload there)
        ctx = self.context(message)
        summary = " ".join(self.render(config, "template", "text", message).split()) or message.title
        incident = ctx["incident"]
        details: dict[str, Any] = {"message": message.message[:4000], "tags": message.tags}
        if incident:
            details.update(status=incident.get("status"), metrics=incident.get("metrics"),
                           summaries=incident.get("summaries"))
        if ctx["alerts"]:
            details["alerts"] = [{k: a.get(k) for k in ("name", "severity", "status", "host")} for a in ctx["alerts"][:10]]
        if ctx["analysis"]:
            details["analysis"] = {k: ctx["analysis"].get(k) for k in ("provider", "summary", "probable_cause", "actions")}
        if ctx["checks"]:
            details["checks"] = {k: ctx["checks"].get(k) for k in ("checks_run", "checks_failed", "hosts_without_results")}
        body["payload"] = {
            "summary": summary[:SUMMARY_MAX],
            "source": (ctx["hosts"][0] if ctx["hosts"] else message.tags.get("source")) or "signalfire",
            "severity": PRIORITY_MAP.get(message.severity, "warning"),
            "timestamp": ctx["since"] or None,
            "component": message.tags.get("source") or None,
            "group": message.tags.get("pipeline") or None,
            "class": (ctx["alerts"][0]["name"] if ctx["alerts"] else None),
            "custom_details": details,
        }
        body["payload"] = {k: v for k, v in body["payload"].items() if v not in (None, "")}
        if config.client:
            body["client"] = config.client
        if config.client_url:
            body["client_url"] = config.client_url
        if message.links:
            body["links"] = [{"href": link.href, "text": link.text} for link in message.links]
        return body

    def _send(self, message: NotificationMessage, config: PagerDutyConfig) -> SendResult:  # type: ignore[override]
        event = self.event(message, config)
        reply, failure = call("pagerduty", "POST", config.events_url, self.runtime.policy, timeout=self.timeout(config),
                              json_body=event)
        if failure is not None:
            if reply is not None and isinstance(reply.json(), dict):
                failure.metadata["errors"] = list(reply.json().get("errors") or [])[:5]
            return failure
        assert reply is not None
        answer = reply.json() if isinstance(reply.json(), dict) else {}
        key = str(answer.get("dedup_key") or event["dedup_key"])
        return SendResult.ok(key, event_action=event["event_action"], dedup_key=key, status=reply.status)

    # seed: acknowledge(dedup_key, config), resolve(dedup_key, config)
    def acknowledge(self, dedup_key: str, config: dict[str, Any]) -> SendResult:
        return self.send(NotificationMessage(title="acknowledge", event=NotificationEvent.ACKNOWLEDGE,
                                             dedup_key=dedup_key), config)

    def resolve(self, dedup_key: str, config: dict[str, Any]) -> SendResult:
        return self.send(NotificationMessage(title="resolve", event=NotificationEvent.RESOLVE,
                                             dedup_key=dedup_key), config)
