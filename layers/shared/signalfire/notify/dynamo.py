"""DynamoDB implementation of the notification stores.

=====================  ==============================  ==============================================
PK                     SK                              what
=====================  ==============================  ==============================================
CHANNEL#<name>         META                            a NotificationChannel (GSI1 ``CHANNELS`` / name)
RUN#<run_id>           DELIVERY#<node>#<channel>       one delivery: sending / delivered / failed
NOTIFIED#<incident>    CHANNEL#<name>                  a channel that received the incident's firing
=====================  ==============================  ==============================================

A claim is one conditional PutItem: it succeeds when no record exists, the
last attempt failed, or a ``sending`` claim's lease has run out (its holder
was a Lambda that has since timed out).  Delivery and notified items expire
with the run (AuditRetentionDays); channels do not.
"""

from __future__ import annotations

from typing import Any

from signalfire.errors import ConflictError, NotFoundError
from signalfire.notify.models import NotificationChannel
from signalfire.notify.store import ChannelStore, Claim, Delivery, DeliveryStatus, DeliveryStore, FiringRecord
from signalfire.store.dynamo import DynamoTable
from signalfire.store.exceptions import ConditionFailed
from signalfire.timeutil import iso, utcnow

_CHANNEL_FIELDS = set(NotificationChannel.model_fields)
_DELIVERY_FIELDS = set(Delivery.model_fields)


class DynamoChannelStore(ChannelStore):
    def __init__(self, table: DynamoTable) -> None:
        self.t = table

    @staticmethod
    def _item(channel: NotificationChannel) -> dict[str, Any]:
        data = channel.model_dump(mode="json")
        data.update(PK=f"CHANNEL#{channel.name}", SK="META", type="channel", GSI1PK="CHANNELS",
                    GSI1SK=channel.name)
        return data

    @staticmethod
    def _channel(item: dict[str, Any]) -> NotificationChannel:
        return NotificationChannel.model_validate({k: v for k, v in item.items() if k in _CHANNEL_FIELDS})

    def create(self, channel: NotificationChannel) -> NotificationChannel:
        now = utcnow()
        channel = channel.model_copy(update={"created_at": now, "updated_at": now})
        try:
            self.t.put(self._item(channel), condition="attribute_not_exists(PK)")
        except ConditionFailed:
            raise ConflictError(f"a channel named {channel.name!r} exists; PUT /notify/channels/{channel.name} "
                                "to change it") from None
        return channel

    def get(self, name: str) -> NotificationChannel | None:
        item = self.t.get(f"CHANNEL#{name}", "META")
        return self._channel(item) if item else None

    def list(self) -> list[NotificationChannel]:
        out: list[NotificationChannel] = []
        token: str | None = None
        while True:
            page = self.t.query_index("GSI1", "CHANNELS", limit=200, next_token=token, newest_first=False)
            out.extend(self._channel(i) for i in page.items)
            token = page.next_token
            if not token:
                return out

    def replace(self, channel: NotificationChannel) -> NotificationChannel:
        current = self.get(channel.name)
        if current is None:
            raise NotFoundError(f"no channel named {channel.name!r}")
        channel = channel.model_copy(update={"created_at": current.created_at, "updated_at": utcnow()})
        try:
            self.t.put(self._item(channel), condition="attribute_exists(PK)")
        except ConditionFailed:
            raise NotFoundError(f"no channel named {channel.name!r}") from None
        return channel

    def delete(self, name: str) -> None:
        try:
            self.t.delete(f"CHANNEL#{name}", "META", condition="attribute_exists(PK)")
        except ConditionFailed:
            raise NotFoundError(f"no channel named {name!r}") from None


class DynamoDeliveryStore(DeliveryStore):
    def __init__(self, table: DynamoTable, retention_days: int = 90) -> None:
        self.t = table
        self.retention_days = retention_days

    @staticmethod
    def _key(d: Delivery) -> tuple[str, str]:
        return f"RUN#{d.run_id}", f"DELIVERY#{d.node_id}#{d.channel}"

    def _item(self, d: Delivery) -> dict[str, Any]:
        pk, sk = self._key(d)
        data = d.model_dump(mode="json")
        data.update(PK=pk, SK=sk, type="delivery", expires_at=self.t.expiry(self.retention_days))
        return data

    @staticmethod
    def _delivery(item: dict[str, Any]) -> Delivery:
        return Delivery.model_validate({k: v for k, v in item.items() if k in _DELIVERY_FIELDS})

    def claim(self, delivery: Delivery, *, lease_seconds: int) -> Claim:
        now = int(utcnow().timestamp())
        pk, sk = self._key(delivery)
        previous = self.t.get(pk, sk)
        attempts = int(previous.get("attempts", 0)) if previous else 0
        claimed = delivery.model_copy(update={"status": DeliveryStatus.SENDING, "lease_until": now + lease_seconds,
                                              "attempts": attempts + 1, "updated_at": utcnow()})
        try:
            self.t.put(self._item(claimed),
                       condition="attribute_not_exists(PK) OR #s = :failed OR (#s = :sending AND #l < :now)",
                       names={"#s": "status", "#l": "lease_until"},
                       values={":failed": DeliveryStatus.FAILED.value, ":sending": DeliveryStatus.SENDING.value,
                               ":now": now})
        except ConditionFailed:
            item = self.t.get(pk, sk)
            return Claim(claimed=False, existing=self._delivery(item) if item else None)
        return Claim(claimed=True, existing=self._delivery(previous) if previous else None)

    def finish(self, delivery: Delivery) -> None:
        delivery = delivery.model_copy(update={"updated_at": utcnow(), "lease_until": 0})
        try:
            self.t.put(self._item(delivery), condition="#s = :sending AND #c = :me",
                       names={"#s": "status", "#c": "claimed_by"},
                       values={":sending": DeliveryStatus.SENDING.value, ":me": delivery.claimed_by})
        except ConditionFailed:
            # Our lease ran out and another attempt claimed the channel: its record wins,
            # but a delivery that happened must not be forgotten.
            if delivery.status == DeliveryStatus.DELIVERED:
                self.t.put(self._item(delivery))

    def deliveries(self, run_id: str) -> list[Delivery]:
        page = self.t.query(pk_name="PK", pk=f"RUN#{run_id}", sk_name="SK", sk_prefix="DELIVERY#", limit=1000,
                            newest_first=False, consistent=True)
        return [self._delivery(i) for i in page.items]

    def remember_firing(self, record: FiringRecord) -> None:
        data = record.model_dump(mode="json")
        data.update(PK=f"NOTIFIED#{record.incident_id}", SK=f"CHANNEL#{record.channel}", type="notified",
                    at=iso(utcnow()), expires_at=self.t.expiry(self.retention_days))
        self.t.put(data)

    def firing_channels(self, incident_id: str) -> list[FiringRecord]:
        page = self.t.query(pk_name="PK", pk=f"NOTIFIED#{incident_id}", sk_name="SK", sk_prefix="CHANNEL#",
                            limit=200, newest_first=False, consistent=True)
        return [FiringRecord.model_validate({k: v for k, v in i.items() if k in FiringRecord.model_fields})
                for i in page.items]
