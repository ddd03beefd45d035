"""The notification DTOs (seed: NotificationMessage, the standard send result,
NotificationChannel).  Leaf module: imports nothing else of signalfire.notify."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from signalfire.models import Model

#: The seed's four message severities; anything else is normalised onto them.
SEVERITIES = ("critical", "warning", "info", "success")
_SEVERITY_WORDS = {
    "critical": "critical", "crit": "critical", "fatal": "critical", "error": "critical", "high": "critical",
    "disaster": "critical", "emergency": "critical", "page": "critical",
    "warning": "warning", "warn": "warning", "medium": "warning", "major": "warning", "minor": "warning",
    "info": "info", "information": "info", "informational": "info", "low": "info", "notice": "info",
    "debug": "info", "success": "success", "ok": "success", "resolved": "success", "recovered": "success",
}

SEVERITY_COLORS = {"critical": "#d7263d", "warning": "#f49d37", "info": "#3f88c5", "success": "#2e933c"}
SEVERITY_EMOJIS = {"critical": "🔴", "warning": "🟠", "info": "🔵", "success": "🟢"}
#: Slack shortcodes (rendered by Slack itself; the unicode above is for email and the terminal).
SEVERITY_SLACK_EMOJIS = {"critical": ":red_circle:", "warning": ":large_orange_circle:",
                         "info": ":large_blue_circle:", "success": ":large_green_circle:"}
#: PagerDuty Events API v2 accepts critical / error / warning / info.
PRIORITY_MAP = {"critical": "critical", "warning": "warning", "info": "info", "success": "info"}


def normalize_severity(value: Any) -> str:
    return _SEVERITY_WORDS.get(str(value or "").strip().lower(), "warning")


class NotificationEvent(StrEnum):
    """What happened to the incident this message is about (drives PagerDuty's
    ``event_action`` and the wording of every channel)."""

    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class Link(Model):
    text: str
    href: str


class NotificationMessage(Model):
    """Seed NotificationMessage, plus the incident lifecycle fields channels need."""

    title: str = Field(min_length=1, max_length=2000)
    message: str = Field(default="", max_length=100_000)
    severity: str = "warning"
    channel: str = "default"
    tags: dict[str, str] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    #: trigger, acknowledge or resolve
    event: NotificationEvent = NotificationEvent.TRIGGER
    #: stable per incident, so an acknowledge or resolve reaches the alert a trigger opened
    dedup_key: str = Field(default="", max_length=255)
    links: list[Link] = Field(default_factory=list)

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, v: Any) -> str:
        return normalize_severity(v)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): "" if val is None else str(val) for k, val in v.items()}
        return v


class SendResult(Model):
    """The seed's standard return format, plus ``retryable``: whether trying the
    same send again can help (decided by :mod:`signalfire.notify.retry`)."""

    success: bool
    message_id: str | None = None
    error: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    retryable: bool = False

    @classmethod
    def ok(cls, message_id: str | None = None, **metadata: Any) -> SendResult:
        return cls(success=True, message_id=message_id, metadata=metadata)

    @classmethod
    def failed(cls, error: str, *, retryable: bool, **metadata: Any) -> SendResult:
        return cls(success=False, error=error, retryable=retryable, metadata=metadata)

    def standard(self) -> dict[str, Any]:
        """``{success, message_id, error, metadata}`` as the seed returns it (plus ``retryable``)."""
        return self.model_dump(mode="json")


_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class NotificationChannel(Model):
    """A named, stored channel configuration (seed: NotificationChannel)."""

    name: str
    driver: str
    config: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True
    description: str = Field(default="", max_length=1000)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("name must be 1-64 characters of a-z, 0-9, '_', '.', '-', starting with a letter or digit")
        return v


# -- what the /notify API answers -----------------------------------------------------------

class SendOutcome(SendResult):
    """One direct send (``POST /notify/send``): the result, and the channel and driver it went through."""

    channel: str
    driver: str


class BatchOutcome(Model):
    """``POST /notify/batch``: one outcome per notification, in order."""

    results: list[SendOutcome]
    total: int
    succeeded: int
    failed: int


class ChannelOut(NotificationChannel):
    """A stored channel as the API shows it: literal secrets in ``config`` are masked, references kept."""


class ChannelList(Model):
    items: list[ChannelOut]
    count: int


class DriverInfo(Model):
    driver: str
    description: str
    #: the config keys whose literal values are masked in answers
    secret_keys: list[str]


class DriverList(Model):
    items: list[DriverInfo]
    count: int


class DriverRequirements(Model):
    """``GET /notify/drivers/{driver}``: the config a channel of this driver takes."""

    driver: str
    description: str
    #: key -> {required, default, description, secret, type}
    config: dict[str, dict[str, Any]]
    secret_reference_forms: list[str]
