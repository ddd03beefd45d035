"""Storage for notifications: the interfaces (DynamoDB implementation in
:mod:`signalfire.notify.dynamo`).

* :class:`ChannelStore` - NotificationChannel items, managed at ``/notify/channels/``.
* :class:`DeliveryStore` - one delivery record per (run, node, channel), claimed
  before sending so two concurrent attempts cannot both send; and, per
  incident, the channels that received its firing (a resolution or an
  acknowledgement goes to them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from signalfire.models import Model
from signalfire.notify.models import NotificationChannel


class ChannelStore(ABC):
    @abstractmethod
    def create(self, channel: NotificationChannel) -> NotificationChannel:
        """ConflictError when the name is taken."""

    @abstractmethod
    def get(self, name: str) -> NotificationChannel | None: ...

    @abstractmethod
    def list(self) -> list[NotificationChannel]:
        """Every channel, by name."""

    @abstractmethod
    def replace(self, channel: NotificationChannel) -> NotificationChannel:
        """NotFoundError when there is no channel of that name."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """NotFoundError when there is no channel of that name."""


class DeliveryStatus(StrEnum):
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"


class Delivery(Model):
    """What happened to one (run, node, channel)."""

    run_id: str
    node_id: str
    channel: str
    driver: str = ""
    status: DeliveryStatus
    event: str = "trigger"
    attempts: int = 0
    message_id: str | None = None
    error: str = ""
    retryable: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    claimed_by: str = ""
    #: epoch seconds after which a ``sending`` claim is considered abandoned
    lease_until: int = 0
    updated_at: datetime | None = None
    delivered_at: datetime | None = None


class Claim(Model):
    """The answer to a claim: ours to send, or someone else's record."""

    claimed: bool
    existing: Delivery | None = None


class FiringRecord(Model):
    """A channel that received an incident's firing."""

    incident_id: str
    channel: str
    driver: str
    dedup_key: str = ""
    run_id: str = ""
    message_id: str | None = None


class DeliveryStore(ABC):
    @abstractmethod
    def claim(self, delivery: Delivery, *, lease_seconds: int) -> Claim:
        """Write ``delivery`` as ``sending`` unless the (run, node, channel) is
        delivered, or being sent by someone whose lease has not expired."""

    @abstractmethod
    def finish(self, delivery: Delivery) -> None:
        """Record the outcome of a claimed send (conditional on still holding the claim)."""

    @abstractmethod
    def deliveries(self, run_id: str) -> list[Delivery]: ...

    @abstractmethod
    def remember_firing(self, record: FiringRecord) -> None: ...

    @abstractmethod
    def firing_channels(self, incident_id: str) -> list[FiringRecord]: ...
