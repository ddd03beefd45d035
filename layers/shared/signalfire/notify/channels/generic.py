"""Generic HTTP webhook (seed: GenericNotifyDriver).

Sends the notification as JSON (or the body a ``payload_template`` renders)
with POST, PUT or PATCH; GET sends the main fields as query parameters.
``disabled: true`` sends nothing and says so (``metadata.sent`` false).  Any
2xx is success; the shared rule decides what else is retried.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from signalfire.errors import ConfigurationError
from signalfire.notify.channels._http import call
from signalfire.notify.channels.base import Channel, ChannelConfig
from signalfire.notify.models import NotificationMessage, SendResult
from signalfire.notify.outbound import check_url

_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


class GenericConfig(ChannelConfig):
    endpoint: str | None = Field(default=None, max_length=2000, description="Receiver URL (or webhook_url)")
    webhook_url: str | None = Field(default=None, max_length=2000, description="Receiver URL (or endpoint)")
    method: Literal["POST", "PUT", "PATCH", "GET"] = Field(default="POST", description="HTTP method")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers (values are secrets)")
    timeout: float = Field(default=30, gt=0, le=30, description="Request timeout, seconds")
    disabled: bool = Field(default=False, description="Send nothing (the result says so)")
    payload_template: Any = Field(default=None, description="Template rendering the JSON body")

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        for name, value in v.items():
            if name.lower() in _HOP_HEADERS or not name or any(c in name + value for c in "\r\n"):
                raise ValueError(f"header {name!r} is not allowed")
        return v

    @model_validator(mode="after")
    def _url(self) -> GenericConfig:
        if not (self.endpoint or self.webhook_url):
            raise ValueError("endpoint (or webhook_url) is required")
        return self

    @property
    def url(self) -> str:
        return str(self.endpoint or self.webhook_url)


class GenericChannel(Channel):
    name: ClassVar[str] = "generic"
    description: ClassVar[str] = "Any HTTP endpoint: the notification as JSON (POST/PUT/PATCH) or query (GET)."
    config_model = GenericConfig
    secret_keys: ClassVar[tuple[str, ...]] = ("endpoint", "webhook_url")

    def check_destinations(self, config: GenericConfig, *, resolve_names: bool) -> None:  # type: ignore[override]
        check_url(config.url, self.runtime.policy, resolve_name=resolve_names)

    def body(self, message: NotificationMessage, config: GenericConfig) -> Any:
        if config.payload_template not in (None, ""):
            text = self.runtime.renderer.render(config.payload_template, self.context(message))
            try:
                return json.loads(text)
            except ValueError:
                raise ConfigurationError("generic config: payload_template did not render JSON",
                                         details={"key": "payload_template"}) from None
        return {"title": message.title, "message": message.message, "severity": message.severity,
                "channel": message.channel, "event": message.event.value, "dedup_key": message.dedup_key,
                "tags": message.tags, "links": [link.model_dump() for link in message.links],
                "text": self.render(config, "template", "text", message), "context": message.context}

    def _send(self, message: NotificationMessage, config: GenericConfig) -> SendResult:  # type: ignore[override]
        if config.disabled:
            return SendResult.ok(None, sent=False, reason="disabled")
        body = self.body(message, config)
        if config.method == "GET":
            params = {"title": message.title, "severity": message.severity, "event": message.event.value,
                      "dedup_key": message.dedup_key, "message": message.message[:1000]}
            reply, failure = call("generic", "GET", config.url, self.runtime.policy, timeout=self.timeout(config),
                                  headers=config.headers, params=params)
        else:
            reply, failure = call("generic", config.method, config.url, self.runtime.policy,
                                  timeout=self.timeout(config), json_body=body, headers=config.headers)
        if failure is not None:
            return failure
        assert reply is not None
        answer = reply.json()
        message_id = reply.headers.get("x-request-id") or (
            str(answer.get("id")) if isinstance(answer, dict) and answer.get("id") is not None else None)
        return SendResult.ok(message_id, sent=True, status=reply.status)
