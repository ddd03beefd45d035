"""Every driver's status table, word by word; an unknown word is refused with
the accepted words named (never read as firing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from signalfire.alerts.drivers import DRIVERS, get_driver
from signalfire.alerts.models import AlertStatus
from signalfire.errors import PayloadValidationError

from .conftest import load_fixture

Payload = dict[str, Any]


def _am(word: str) -> Payload:
    p = load_fixture("alertmanager_firing")
    p["status"] = word
    for a in p["alerts"]:
        a["status"] = word
    return p


def _grafana_status(word: str) -> Payload:
    p = load_fixture("grafana_unified_firing")
    p["status"] = word
    for a in p["alerts"]:
        a["status"] = word
    return p


def _grafana_state(word: str) -> Payload:
    p = load_fixture("grafana_legacy_alerting")
    p["state"] = word
    return p


def _pd_v3_event(word: str) -> Payload:
    p = load_fixture("pagerduty_v3_triggered")
    p["event"]["event_type"] = word
    p["event"]["data"].pop("status", None)
    return p


def _pd_v3_status(word: str) -> Payload:
    p = load_fixture("pagerduty_v3_triggered")
    p["event"]["event_type"] = "incident.acknowledged"
    p["event"]["data"]["status"] = word
    return p


def _pd_v2_event(word: str) -> Payload:
    p = load_fixture("pagerduty_v2_trigger")
    for m in p["messages"]:
        m["event"] = word
        m["incident"].pop("status", None)
    return p


def _datadog(word: str) -> Payload:
    p = load_fixture("datadog_triggered")
    p["alert_transition"] = word
    return p


def _nr_workflow(word: str) -> Payload:
    p = load_fixture("newrelic_workflow_activated")
    p["state"] = word.upper()
    return p


def _nr_legacy(word: str) -> Payload:
    p = load_fixture("newrelic_legacy_open")
    p["current_state"] = word
    return p


def _og_action(word: str) -> Payload:
    p = load_fixture("opsgenie_create_p1")
    p["action"] = word
    return p


def _og_status(word: str) -> Payload:
    p = load_fixture("opsgenie_create_p1")
    del p["action"]
    p["alert"]["status"] = word
    return p


def _zabbix(field: str) -> Callable[[str], Payload]:
    def build(word: str) -> Payload:
        p = load_fixture("zabbix_problem_high")
        for key in ("event_value", "event_status", "trigger_status", "status"):
            p.pop(key, None)
        p[field] = word
        return p
    return build


def _generic(word: str) -> Payload:
    p = load_fixture("generic_single")
    p["status"] = word
    return p


#: (driver, field of its status_words) -> a payload with that field set to a word
BUILDERS: dict[tuple[str, str], Callable[[str], Payload]] = {
    ("alertmanager", "status"): _am,
    ("grafana", "status"): _grafana_status,
    ("grafana", "state"): _grafana_state,
    ("pagerduty", "event_type"): _pd_v3_event,
    ("pagerduty", "status"): _pd_v3_status,
    ("pagerduty", "event"): _pd_v2_event,
    ("datadog", "alert_transition"): _datadog,
    ("newrelic", "state"): _nr_workflow,
    ("newrelic", "current_state"): _nr_legacy,
    ("opsgenie", "action"): _og_action,
    ("opsgenie", "status"): _og_status,
    ("zabbix", "event_value"): _zabbix("event_value"),
    ("zabbix", "event_status"): _zabbix("event_status"),
    ("zabbix", "trigger_status"): _zabbix("trigger_status"),
    ("zabbix", "status"): _zabbix("status"),
    ("generic", "status"): _generic,
}

TABLE = [(driver, field, word, status)  # sorted: parallel workers must collect the same tests in one order
         for (driver, field) in BUILDERS
         for word, status in sorted(DRIVERS[driver].status_words[field].items())]


def test_every_driver_declares_a_status_table_and_every_table_is_tested():
    declared = {(name, field) for name, cls in DRIVERS.items() for field in cls.status_words}
    assert all(cls.status_words for cls in DRIVERS.values())
    assert declared == set(BUILDERS)


@pytest.mark.parametrize("driver, field, word, status", TABLE,
                         ids=[f"{d}-{f}-{w}" for d, f, w, _ in TABLE])
def test_documented_word_maps(driver, field, word, status):
    parsed = get_driver(driver).parse(BUILDERS[(driver, field)](word))
    assert {a.status for a in parsed.alerts} == {status}


@pytest.mark.parametrize("driver, field", list(BUILDERS))
@pytest.mark.parametrize("word", ["exploded", "FIRED!", "recovering"])
def test_unknown_word_is_refused_naming_the_accepted_ones(driver, field, word):
    if driver == "pagerduty" and field.startswith("event"):
        word = f"incident.{word}"  # a non-incident event type has its own refusal
    with pytest.raises(PayloadValidationError) as err:
        get_driver(driver).parse(BUILDERS[(driver, field)](word))
    message = err.value.message
    assert repr(word) in message or repr(word.upper()) in message
    for accepted in DRIVERS[driver].status_words[field]:
        assert accepted in message
    assert err.value.details["accepted"] == list(DRIVERS[driver].status_words[field])


@pytest.mark.parametrize("word, status", [("cleared", AlertStatus.RESOLVED), ("ok", AlertStatus.RESOLVED),
                                          ("recovered", AlertStatus.RESOLVED), ("firing", AlertStatus.FIRING)])
def test_generic_examples_from_the_issue(word, status):
    assert get_driver("generic").parse(_generic(word)).alerts[0].status == status
