"""EventBridge schedules in ``signalfire local``: every ``Schedule`` /
``ScheduleV2`` event that template.yaml declares fires its function on a
timer, with the event EventBridge would send (its ``Input`` when the template
gives one).  Nothing here names a function: a new schedule in the template
(the reconciler, a silent-host check) runs locally as soon as it is declared.

``rate(N minute|minutes|hour|hours|day|days)`` and six-field
``cron(min hour day-of-month month day-of-week year)`` expressions are
understood (UTC, as EventBridge evaluates them); ``--schedule-every S``
fires every schedule each S seconds instead, for demos and tests.
"""

from __future__ import annotations

import json
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from signalfire_local.template import ACCOUNT, REGION, Template

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}


@dataclass
class Schedule:
    function: str  # logical id of the function it invokes
    event: str  # the event's name in the template
    expression: str
    input: Any = None
    enabled: bool = True

    def next_after(self, now: datetime) -> datetime:
        """When it fires next after ``now`` (UTC)."""
        rate = _RATE.match(self.expression.strip())
        if rate:
            return now + timedelta(seconds=int(rate.group(1)) * _UNIT[rate.group(2).rstrip("s")])
        if self.expression.strip().startswith("cron(") and self.expression.strip().endswith(")"):
            return _next_cron(self.expression.strip()[5:-1], now)
        raise ValueError(f"{self.function}.{self.event}: unsupported schedule expression {self.expression!r}")

    def event_payload(self, at: datetime) -> Any:
        """What EventBridge delivers: the template's Input, else a Scheduled Event."""
        if self.input is not None:
            return json.loads(self.input) if isinstance(self.input, str) else self.input
        return {
            "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": ACCOUNT, "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": REGION,
            "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/signalfire-{self.function}-{self.event}"],
            "detail": {},
        }


def template_schedules(template: Template) -> list[Schedule]:
    found = []
    for logical, res in template.of_type("AWS::Serverless::Function").items():
        for name, event in ((res.get("Properties") or {}).get("Events") or {}).items():
            if event.get("Type") not in ("Schedule", "ScheduleV2"):
                continue
            props = template.resolve(event.get("Properties") or {})
            expression = str(props.get("Schedule") or props.get("ScheduleExpression") or "")
            enabled = props.get("Enabled", True) not in (False, "false", "False") and props.get("State") != "DISABLED"
            found.append(Schedule(function=logical, event=name, expression=expression, input=props.get("Input"),
                                  enabled=enabled))
    return found


class ScheduleTimers:
    """One daemon thread per enabled schedule, invoking ``invoke(function, event)``."""

    def __init__(self, schedules: list[Schedule], invoke: Callable[[str, Any], Any],
                 every: float | None = None, log: Callable[[str], None] = print) -> None:
        self.schedules = [s for s in schedules if s.enabled]
        self.invoke = invoke
        self.every = every
        self.log = log
        self.fired: dict[str, int] = {f"{s.function}.{s.event}": 0 for s in self.schedules}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        for s in self.schedules:
            s.next_after(datetime.now(UTC))  # refuse an expression we cannot evaluate at start, not later

    def start(self) -> ScheduleTimers:
        for s in self.schedules:
            thread = threading.Thread(target=self._loop, args=(s,), name=f"schedule-{s.function}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _loop(self, s: Schedule) -> None:
        while not self._stop.is_set():
            now = datetime.now(UTC)
            wait = self.every if self.every else max(0.0, (s.next_after(now) - now).total_seconds())
            if self._stop.wait(wait):
                return
            self.fire(s)

    def fire(self, s: Schedule) -> Any:
        at = datetime.now(UTC)
        started = time.monotonic()
        try:
            result = self.invoke(s.function, s.event_payload(at))
        except Exception:  # noqa: BLE001 - a failed invocation is logged; the schedule keeps firing, as in AWS
            self.log(f"schedule {s.function}.{s.event} failed:\n{traceback.format_exc()}")
            return None
        finally:
            self.fired[f"{s.function}.{s.event}"] += 1
        self.log(f"schedule {s.function}.{s.event} ran in {time.monotonic() - started:.2f}s")
        return result


# -- cron -------------------------------------------------------------------------------


def _field(spec: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """The values a cron field allows; None for ``*`` / ``?`` (anything)."""
    spec = spec.strip().upper()
    if spec in ("*", "?"):
        return None
    values: set[int] = set()
    for part in spec.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(part, names)
            end = high if step > 1 else start
        values.update(range(start, end + 1, step))
    return values


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text in names:
        return names[text]
    if text.endswith("L") or "#" in text or text.endswith("W"):
        raise ValueError(f"cron: {text!r} (L, W and # are not supported locally)")
    return int(text)


def _next_cron(expression: str, now: datetime) -> datetime:
    parts = expression.split()
    if len(parts) != 6:
        raise ValueError(f"cron({expression}): EventBridge cron has six fields")
    minutes, hours = _field(parts[0], 0, 59), _field(parts[1], 0, 23)
    dom, months = _field(parts[2], 1, 31), _field(parts[3], 1, 12, _MONTHS)
    dow, years = _field(parts[4], 1, 7, _DAYS), _field(parts[5], 1970, 2199)
    t = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(60 * 24 * 366 * 2):
        weekday = (t.isoweekday() % 7) + 1  # EventBridge: 1 = Sunday
        if ((months is None or t.month in months) and (years is None or t.year in years)
                and (dom is None or t.day in dom) and (dow is None or weekday in dow)
                and (hours is None or t.hour in hours) and (minutes is None or t.minute in minutes)):
            return t
        t += timedelta(minutes=1)
    raise ValueError(f"cron({expression}) never fires in the next two years")
