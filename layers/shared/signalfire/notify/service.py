"""Notification use cases: manage channels, choose where a notification goes,
and deliver it at most once per (run, node, channel).

Selection for a pipeline's notify node (its config):

* ``channels: [names]`` - those stored channels; a name that does not exist or
  a channel that is not active is a ConfigurationError for the run;
* ``drivers: [drivers]`` - every active channel of those drivers (none = a
  ConfigurationError);
* both - the union; neither - every active channel, and when there is none
  the built-in ``console`` channel (the terminal locally, a log line in AWS),
  so a newcomer sees the notification with nothing configured.

An incident's acknowledgement or resolution goes to the channels that
received its firing (:class:`FiringRecord`); with no such record, to the
node's selection.

Selection for ``POST /notify/send/`` (the seed's priority): a ``provider``
that names an active stored channel uses it; no provider uses the first
active channel (else the console); otherwise the provider is a driver key and
the request's ``config`` is used.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import Field, ValidationError

from signalfire import deadline
from signalfire.errors import ConfigurationError, NotFoundError
from signalfire.models import Model
from signalfire.notify.channels import CHANNELS, Channel, Runtime, get_channel
from signalfire.notify.models import NotificationChannel, NotificationEvent, NotificationMessage, SendResult
from signalfire.notify.outbound import DestinationRefused
from signalfire.notify.secrets import check_reference, keep_masked, mask, reference
from signalfire.notify.store import ChannelStore, Delivery, DeliveryStatus, DeliveryStore, FiringRecord
from signalfire.timeutil import utcnow

CONSOLE = "console"
#: a claim outlives the Lambda that holds it (NotifyFunction Timeout), so a
#: retry after a timeout may take over, but a live sender is never doubled
DEFAULT_LEASE_SECONDS = 70
MAX_PARALLEL = 8
TEMPLATE_KEYS = ("template", "subject_template", "html_template", "payload_template")


class Target(Model):
    name: str
    driver: str
    config: dict[str, Any] = Field(default_factory=dict)


class ChannelOutcome(Model):
    """NotifyResult's per-channel entry."""

    channel: str
    driver: str
    status: str  # delivered / failed / already_delivered / in_progress / skipped
    success: bool
    message_id: str | None = None
    error: str = ""
    retryable: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    at: str = ""


class NotifyResult(Model):
    """Seed NotifyResult: what the notify stage did, channel by channel."""

    event: str
    deliveries: list[ChannelOutcome] = Field(default_factory=list)
    provider_ids: list[str] = Field(default_factory=list)
    messages: list[dict[str, Any]] = Field(default_factory=list)
    channels_attempted: list[str] = Field(default_factory=list)
    channels_succeeded: list[str] = Field(default_factory=list)
    channels_failed: list[str] = Field(default_factory=list)
    channels_already_delivered: list[str] = Field(default_factory=list)
    channels_in_progress: list[str] = Field(default_factory=list)
    channels_skipped: list[str] = Field(default_factory=list)

    @property
    def retryable_failure(self) -> bool:
        return bool(self.channels_in_progress) or any(
            d.status == "failed" and d.retryable for d in self.deliveries)


def public(channel: NotificationChannel) -> dict[str, Any]:
    """A channel as the API shows it: literal secrets masked, references kept."""
    cls = CHANNELS.get(channel.driver)
    data = channel.model_dump(mode="json")
    data["config"] = mask(channel.config, cls.secret_keys if cls else ())
    return data


class ChannelInput(Model):
    """POST /notify/channels/ body (PUT takes the same, name from the path)."""

    name: str = Field(default="", description="Unique channel name, e.g. ops-slack")
    driver: str = Field(description="email, slack, pagerduty, generic or console")
    config: dict[str, Any] = Field(default_factory=dict, description="Driver config (GET /notify/drivers/{driver})")
    is_active: bool = True
    description: str = ""


class NotifyService:
    def __init__(self, channels: ChannelStore, deliveries: DeliveryStore, runtime: Runtime | None = None,
                 *, lease_seconds: int = DEFAULT_LEASE_SECONDS) -> None:
        self.channels = channels
        self.deliveries = deliveries
        self.runtime = runtime or Runtime.from_env()
        self.lease_seconds = lease_seconds

    def channel(self, driver: str) -> Channel:
        return get_channel(driver, self.runtime)

    # -- managing channels --------------------------------------------------------------

    def validate(self, driver: str, config: dict[str, Any], *, stored: bool = False) -> None:
        """400 naming the key: unknown driver, bad config, refused destination,
        a secret reference outside the readable prefix."""
        if driver not in CHANNELS:
            raise ConfigurationError(f"driver must be one of {', '.join(sorted(CHANNELS))}; got {driver!r}",
                                     details={"key": "driver"})
        channel = self.channel(driver)
        for key, value in config.items():
            ref = reference(value) if key in channel.secret_keys else None
            if ref:
                check_reference(ref[0], ref[1], key)
        try:
            parsed = channel.validate_config(config, resolve_names=False)
        except DestinationRefused as exc:
            raise ConfigurationError(f"{driver} config: {exc}", details={"key": "config"}) from None
        self._check_templates(channel, config)
        if stored and not getattr(parsed, "to_addresses", True):
            # a stored email channel is addressed by its own name, never an address: it needs recipients
            raise ConfigurationError("email config: to_addresses is required for a stored channel",
                                     details={"key": "to_addresses"})

    @staticmethod
    def _check_templates(channel: Channel, config: dict[str, Any]) -> None:
        """Render each configured template once against a sample message, so a
        syntax error or a sandbox escape is a 400 naming the key when saved,
        not a failed notification later."""
        from signalfire.notify.compose import template_context

        sample = template_context(NotificationMessage(title="sample", message="sample"), channel=channel.name)
        for key in TEMPLATE_KEYS:
            spec = config.get(key)
            if spec in (None, ""):
                continue
            try:
                channel.runtime.renderer.render(spec, sample, html=key == "html_template")
            except ConfigurationError as exc:
                raise ConfigurationError(f"{channel.name} config: {key}: {exc.message}", details={"key": key}) from None

    def create_channel(self, body: ChannelInput) -> dict[str, Any]:
        channel = _channel(body.name, body)
        self.validate(channel.driver, channel.config, stored=True)
        return public(self.channels.create(channel))

    def get_channel(self, name: str) -> dict[str, Any]:
        found = self.channels.get(name)
        if found is None:
            raise NotFoundError(f"no channel named {name!r}")
        return public(found)

    def list_channels(self) -> dict[str, Any]:
        items = [public(c) for c in self.channels.list()]
        return {"items": items, "count": len(items)}

    def replace_channel(self, name: str, body: ChannelInput) -> dict[str, Any]:
        current = self.channels.get(name)
        if current is None:
            raise NotFoundError(f"no channel named {name!r}")
        if body.name and body.name != name:
            raise ConfigurationError("the name in the body differs from the path; channels cannot be renamed",
                                     details={"key": "name"})
        config = keep_masked(body.config, current.config) if body.driver == current.driver else body.config
        channel = _channel(name, body.model_copy(update={"config": config}))
        self.validate(channel.driver, channel.config, stored=True)
        return public(self.channels.replace(channel))

    def delete_channel(self, name: str) -> None:
        self.channels.delete(name)

    # -- selection ------------------------------------------------------------------------

    def select_for_node(self, config: dict[str, Any]) -> list[Target]:
        names = _names(config.get("channels"), "channels")
        drivers = _names(config.get("drivers"), "drivers")
        stored = {c.name: c for c in self.channels.list()} if (drivers or not names) else {}
        chosen: dict[str, Target] = {}
        for name in names:
            found = stored.get(name) or self.channels.get(name)
            if found is None:
                if name == CONSOLE:
                    chosen[name] = Target(name=CONSOLE, driver=CONSOLE)
                    continue
                raise ConfigurationError(f"notify channel {name!r} does not exist; create it with POST "
                                         "/notify/channels/ or fix the pipeline's channels list",
                                         details={"channel": name})
            if not found.is_active:
                raise ConfigurationError(f"notify channel {name!r} is disabled (is_active false); enable it or "
                                         "remove it from the pipeline", details={"channel": name})
            chosen[name] = Target(name=found.name, driver=found.driver, config=found.config)
        for driver in drivers:
            if driver not in CHANNELS:
                raise ConfigurationError(f"unknown notify driver {driver!r} in drivers; use "
                                         f"{', '.join(sorted(CHANNELS))}", details={"driver": driver})
            matching = [c for c in stored.values() if c.driver == driver and c.is_active]
            if not matching and driver == CONSOLE:
                chosen[CONSOLE] = Target(name=CONSOLE, driver=CONSOLE)
            elif not matching:
                raise ConfigurationError(f"no active notify channel uses driver {driver!r}",
                                         details={"driver": driver})
            for c in matching:
                chosen[c.name] = Target(name=c.name, driver=c.driver, config=c.config)
        if not names and not drivers:
            for c in stored.values():
                if c.is_active:
                    chosen[c.name] = Target(name=c.name, driver=c.driver, config=c.config)
            if not chosen:
                chosen[CONSOLE] = Target(name=CONSOLE, driver=CONSOLE)
        return list(chosen.values())

    def unknown_channels(self, names: list[str]) -> list[str]:
        """The names that are neither stored channels nor the built-in console."""
        return [n for n in dict.fromkeys(names) if n != CONSOLE and self.channels.get(n) is None]

    def targets_for(self, config: dict[str, Any], event: NotificationEvent,
                    incident_id: str | None) -> tuple[list[Target], list[str]]:
        """Where a run's notification goes, and channels skipped (with reason in the name list)."""
        if event == NotificationEvent.TRIGGER or not incident_id:
            return self.select_for_node(config), []
        records = self.deliveries.firing_channels(incident_id)
        if not records:
            return self.select_for_node(config), []
        targets, skipped = [], []
        for record in records:
            if record.channel == CONSOLE and self.channels.get(CONSOLE) is None:
                targets.append(Target(name=CONSOLE, driver=CONSOLE))
                continue
            found = self.channels.get(record.channel)
            if found is None or not found.is_active:
                skipped.append(record.channel)  # deleted or disabled since the firing went out
                continue
            targets.append(Target(name=found.name, driver=found.driver, config=found.config))
        return targets, skipped

    def select_for_send(self, provider: str | None, config: dict[str, Any] | None) -> Target:
        if provider:
            found = self.channels.get(provider)
            if found is not None:
                if not found.is_active:
                    raise ConfigurationError(f"channel {provider!r} is disabled (is_active false)",
                                             details={"key": "provider"})
                return Target(name=found.name, driver=found.driver, config=found.config)
            if provider not in CHANNELS:
                raise NotFoundError(f"{provider!r} is neither a channel nor a driver; drivers: "
                                    f"{', '.join(sorted(CHANNELS))}")
            self.validate(provider, config or {})
            return Target(name=provider, driver=provider, config=config or {})
        active = [c for c in self.channels.list() if c.is_active]
        if active:
            return Target(name=active[0].name, driver=active[0].driver, config=active[0].config)
        return Target(name=CONSOLE, driver=CONSOLE)

    # -- sending --------------------------------------------------------------------------

    def send_direct(self, message: NotificationMessage, target: Target) -> dict[str, Any]:
        """One send for the API (no run, no delivery record)."""
        result = self.channel(target.driver).send(message, target.config)
        return {**result.standard(), "channel": target.name, "driver": target.driver}

    def _send_item(self, item: tuple[NotificationMessage, Target]) -> dict[str, Any]:
        return self.send_direct(*item)

    def send_many(self, items: list[tuple[NotificationMessage, Target]]) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, max(1, len(items)))) as pool:
            return list(pool.map(deadline.carry(self._send_item), items))

    def deliver(self, message: NotificationMessage, targets: list[Target], *, run_id: str, node_id: str,
                incident_id: str | None, skipped: list[str] | None = None) -> NotifyResult:
        """Send ``message`` to each target at most once for (run, node, channel),
        in parallel, and record every outcome before returning."""
        token = uuid.uuid4().hex
        result = NotifyResult(event=message.event.value, channels_attempted=[t.name for t in targets],
                              channels_skipped=list(skipped or []),
                              messages=[message.model_dump(mode="json", exclude={"context"})])
        for name in result.channels_skipped:
            result.deliveries.append(ChannelOutcome(channel=name, driver="", status="skipped", success=False,
                                                    error="channel deleted or disabled since the firing"))

        def one(target: Target) -> ChannelOutcome:
            return self._deliver_one(message, target, run_id=run_id, node_id=node_id, incident_id=incident_id,
                                     token=token)

        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, max(1, len(targets)))) as pool:
            outcomes = list(pool.map(deadline.carry(one), targets))  # each send keeps the stage's deadline
        for outcome in outcomes:
            result.deliveries.append(outcome)
            bucket: dict[str, Callable[[], list[str]]] = {
                "delivered": lambda: result.channels_succeeded, "failed": lambda: result.channels_failed,
                "already_delivered": lambda: result.channels_already_delivered,
                "in_progress": lambda: result.channels_in_progress, "skipped": lambda: result.channels_skipped}
            bucket[outcome.status]().append(outcome.channel)
            if outcome.status == "delivered" and outcome.message_id:
                result.provider_ids.append(outcome.message_id)
        return result

    def _deliver_one(self, message: NotificationMessage, target: Target, *, run_id: str, node_id: str,
                     incident_id: str | None, token: str) -> ChannelOutcome:
        base = Delivery(run_id=run_id, node_id=node_id, channel=target.name, driver=target.driver,
                        status=DeliveryStatus.SENDING, event=message.event.value, claimed_by=token)
        claim = self.deliveries.claim(base, lease_seconds=self.lease_seconds)
        now = utcnow().isoformat()
        if not claim.claimed:
            existing = claim.existing
            if existing is not None and existing.status == DeliveryStatus.DELIVERED:
                return ChannelOutcome(channel=target.name, driver=target.driver, status="already_delivered",
                                      success=True, message_id=existing.message_id, at=now)
            return ChannelOutcome(channel=target.name, driver=target.driver, status="in_progress", success=False,
                                  retryable=True, at=now,
                                  error="another attempt is sending to this channel right now")
        sent: SendResult = self.channel(target.driver).send(message.model_copy(update={"channel": target.name}),
                                                          target.config)
        not_sent = sent.success and sent.metadata.get("sent") is False  # a generic channel in disabled mode
        status = DeliveryStatus.SKIPPED if not_sent else (
            DeliveryStatus.DELIVERED if sent.success else DeliveryStatus.FAILED)
        self.deliveries.finish(base.model_copy(update={
            "status": status, "message_id": sent.message_id, "error": sent.error[:2000], "retryable": sent.retryable,
            "metadata": sent.metadata, "attempts": (claim.existing.attempts if claim.existing else 0) + 1,
            "delivered_at": utcnow() if sent.success else None}))
        if not_sent:
            return ChannelOutcome(channel=target.name, driver=target.driver, status="skipped", success=True,
                                  metadata=sent.metadata, at=now)
        if sent.success and incident_id and message.event == NotificationEvent.TRIGGER:
            self.deliveries.remember_firing(FiringRecord(incident_id=incident_id, channel=target.name,
                                                         driver=target.driver, dedup_key=message.dedup_key,
                                                         run_id=run_id, message_id=sent.message_id))
        return ChannelOutcome(channel=target.name, driver=target.driver,
                              status="delivered" if sent.success else "failed", success=sent.success,
                              message_id=sent.message_id, error=sent.error, retryable=sent.retryable,
                              metadata=sent.metadata, at=now)


def _channel(name: str, body: ChannelInput) -> NotificationChannel:
    try:
        return NotificationChannel(name=name, driver=body.driver, config=body.config, is_active=body.is_active,
                                   description=body.description)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err.get("loc", ())) or "body"
        raise ConfigurationError(f"{key}: {err.get('msg', 'is invalid').removeprefix('Value error, ')}",
                                 details={"key": key}) from None


def _names(value: Any, key: str) -> list[str]:
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigurationError(f"notify node config {key!r} must be a list of names", details={"key": key})
    return list(dict.fromkeys(value))
