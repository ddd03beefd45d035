"""The local schedule timers read every Schedule event from the template and
evaluate rate/cron as EventBridge does (UTC)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from signalfire_local.schedules import Schedule, ScheduleTimers, template_schedules
from signalfire_local.template import Template
from support import ROOT


def test_the_reconciler_schedule_comes_from_the_template():
    found = template_schedules(Template(ROOT / "template.yaml"))
    assert ("ReconcileFunction", "Reconcile", "rate(1 minute)") in [(s.function, s.event, s.expression) for s in found]


@pytest.mark.parametrize("expression, now, expected", [
    ("rate(1 minute)", "2026-01-01T10:00:30", "2026-01-01T10:01:30"),
    ("rate(5 minutes)", "2026-01-01T10:00:00", "2026-01-01T10:05:00"),
    ("rate(2 hours)", "2026-01-01T10:00:00", "2026-01-01T12:00:00"),
    ("rate(1 day)", "2026-01-01T10:00:00", "2026-01-02T10:00:00"),
    ("cron(0/15 * * * ? *)", "2026-01-01T10:07:00", "2026-01-01T10:15:00"),
    ("cron(0 12 * * ? *)", "2026-01-01T12:00:00", "2026-01-02T12:00:00"),
    ("cron(30 8 ? * MON-FRI *)", "2026-01-02T09:00:00", "2026-01-05T08:30:00"),  # Fri after 8:30 -> Mon
    ("cron(0 0 1 JAN ? *)", "2026-03-01T00:00:00", "2027-01-01T00:00:00"),
])
def test_next_fire_time(expression, now, expected):
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    assert Schedule("F", "E", expression).next_after(at) == datetime.fromisoformat(expected).replace(tzinfo=UTC)


def test_an_unknown_expression_is_refused_at_start():
    with pytest.raises(ValueError, match="unsupported schedule"):
        ScheduleTimers([Schedule("F", "E", "every minute")], lambda f, e: None)


def test_timers_invoke_the_function_with_the_scheduled_event_and_input():
    calls: list[tuple[str, object]] = []
    done = threading.Event()

    def invoke(function: str, event: object) -> None:
        calls.append((function, event))
        if len(calls) >= 2:
            done.set()

    timers = ScheduleTimers([Schedule("Reconcile", "Tick", "rate(1 minute)"),
                             Schedule("Other", "Tick", "rate(1 day)", input='{"check": "silent-hosts"}'),
                             Schedule("Off", "Tick", "rate(1 minute)", enabled=False)],
                            invoke, every=0.05, log=lambda line: None).start()
    try:
        assert done.wait(10)
    finally:
        timers.stop()
    by_function = {f: e for f, e in calls}
    assert by_function["Reconcile"]["detail-type"] == "Scheduled Event"  # type: ignore[index]
    assert by_function["Reconcile"]["source"] == "aws.events"  # type: ignore[index]
    assert by_function["Other"] == {"check": "silent-hosts"}
    assert "Off" not in by_function


def test_a_failing_invocation_is_logged_and_the_schedule_keeps_firing():
    lines: list[str] = []
    count = 0
    done = threading.Event()

    def invoke(function: str, event: object) -> None:
        nonlocal count
        count += 1
        if count >= 2:
            done.set()
        raise RuntimeError("boom")

    timers = ScheduleTimers([Schedule("F", "E", "rate(1 minute)")], invoke, every=0.05, log=lines.append).start()
    try:
        assert done.wait(10)
    finally:
        timers.stop()
    assert any("failed" in line and "boom" in line for line in lines)
    assert timers.fired["F.E"] >= 2
