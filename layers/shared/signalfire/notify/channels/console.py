"""The console channel: in local mode the rendered notification is printed in
the terminal running ``signalfire local`` (and appended as a JSON line to
``SIGNALFIRE_LOCAL_OUTBOX`` when set); in AWS it is one structured log line.
Needs no configuration, so a newcomer sees a notification at once."""

from __future__ import annotations

import json
import sys
import threading
from typing import ClassVar

from pydantic import Field

from signalfire.notify.channels.base import Channel, ChannelConfig
from signalfire.notify.models import NotificationMessage, SendResult

_LOCK = threading.Lock()


class ConsoleConfig(ChannelConfig):
    width: int = Field(default=72, ge=20, le=200, description="Width of the separator line")


class ConsoleChannel(Channel):
    name: ClassVar[str] = "console"
    description: ClassVar[str] = "Prints the notification in the terminal (local mode) or logs it (AWS)."
    config_model = ConsoleConfig

    def _send(self, message: NotificationMessage, config: ConsoleConfig) -> SendResult:  # type: ignore[override]
        from signalfire.observability import logger

        text = self.render(config, "template", "text", message)
        # ``message`` is the seed field (the alert's own text); ``text`` is what the person reads
        record = {"title": message.title, "message": message.message, "severity": message.severity,
                  "channel": message.channel, "event": message.event.value, "tags": message.tags, "text": text}
        if self.runtime.local_mode:
            rule = "─" * config.width
            with _LOCK:
                sys.stdout.write(f"\n{rule}\n{text}\n{rule}\n")
                sys.stdout.flush()
                if self.runtime.outbox:
                    with open(self.runtime.outbox, "a", encoding="utf-8") as fh:
                        fh.write(json.dumps(record) + "\n")
        else:
            logger.info("notification", extra={"notification": record})
        run_id = message.tags.get("run_id") or ""
        return SendResult.ok(f"console-{run_id}" if run_id else None, printed=self.runtime.local_mode)
