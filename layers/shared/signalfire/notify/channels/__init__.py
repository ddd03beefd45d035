"""The channel registry: one module per channel (seed: the notify drivers)."""

from __future__ import annotations

from signalfire.errors import UnknownDriverError
from signalfire.notify.channels.base import Channel, Runtime
from signalfire.notify.channels.console import ConsoleChannel
from signalfire.notify.channels.email import EmailChannel
from signalfire.notify.channels.generic import GenericChannel
from signalfire.notify.channels.pagerduty import PagerDutyChannel
from signalfire.notify.channels.slack import SlackChannel

CHANNELS: dict[str, type[Channel]] = {c.name: c for c in (
    EmailChannel, SlackChannel, PagerDutyChannel, GenericChannel, ConsoleChannel)}


def get_channel(driver: str, runtime: Runtime | None = None) -> Channel:
    cls = CHANNELS.get(driver)
    if cls is None:
        raise UnknownDriverError(f"unknown notify driver {driver!r}; known: {', '.join(sorted(CHANNELS))}")
    return cls(runtime)


__all__ = ["CHANNELS", "Channel", "Runtime", "get_channel"]
