"""The contract every driver keeps, run over every fixture."""

from __future__ import annotations

import contextlib

import pytest

from signalfire.alerts.drivers import DRIVERS, detect_driver, get_driver, parse_webhook
from signalfire.alerts.models import ParsedAlert, ParsedPayload
from signalfire.errors import PayloadValidationError, UnknownDriverError

from .conftest import fixture_names, load_fixture

ALL = fixture_names()
VENDOR_FIXTURES = [n for n in ALL if not n.startswith("generic_")]
VENDORS = [n for n in DRIVERS if n != "generic"]


def expected_driver(fixture: str) -> str:
    return fixture.split("_", 1)[0]


def test_every_driver_has_fixtures():
    assert {expected_driver(n) for n in ALL} == set(DRIVERS)


def test_registry_order_generic_last_grafana_before_alertmanager():
    names = list(DRIVERS)
    assert names[-1] == "generic"
    assert names.index("grafana") < names.index("alertmanager")
    assert len(names) == 8


@pytest.mark.parametrize("fixture", ALL)
def test_parse_contract(fixture):
    payload = load_fixture(fixture)
    name = expected_driver(fixture)
    result = get_driver(name).parse(payload)
    assert isinstance(result, ParsedPayload)
    assert result.source == name
    assert result.alerts
    assert result.raw_payload == payload
    for alert in result.alerts:
        assert isinstance(alert, ParsedAlert)
        assert alert.fingerprint and alert.name
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in alert.labels.items())
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in alert.annotations.items())
        assert alert.raw_payload  # the alert's own object
    # the per-alert raw payload is the alert's object, not the whole webhook, for grouped formats
    if isinstance(payload.get("alerts"), list):
        assert [a.raw_payload for a in result.alerts] == payload["alerts"]


@pytest.mark.parametrize("fixture", ALL)
def test_detect_picks_the_right_driver(fixture):
    payload = load_fixture(fixture)
    driver = detect_driver(payload)
    assert driver is not None
    assert driver.name == expected_driver(fixture)
    assert parse_webhook(payload).source == expected_driver(fixture)


@pytest.mark.parametrize("fixture", VENDOR_FIXTURES)
def test_vendor_fixture_never_detected_as_generic(fixture):
    assert detect_driver(load_fixture(fixture)).name != "generic"


@pytest.mark.parametrize(
    ("fixture", "other"), [(f, o) for f in ALL for o in VENDORS if o != expected_driver(f)]
)
def test_forcing_another_vendor_is_rejected(fixture, other):
    payload = load_fixture(fixture)
    assert get_driver(other).validate(payload) is False
    with pytest.raises(PayloadValidationError, match="is not a"):
        parse_webhook(payload, driver=other)


@pytest.mark.parametrize("fixture", ALL)
def test_forced_own_driver_parses(fixture):
    assert parse_webhook(load_fixture(fixture), driver=expected_driver(fixture)).alerts


WRONG_VALUES = [None, 12345, "x", [], {}, [1, "a"], True]


@pytest.mark.parametrize("fixture", ALL)
def test_fuzz_top_level_keys(fixture):
    """Delete / null / retype each top-level key (and each key of a nested
    'event'/'alert' object): parse succeeds or raises PayloadValidationError."""
    base = load_fixture(fixture)
    driver = get_driver(expected_driver(fixture))
    mutants = []
    for key in base:
        gone = load_fixture(fixture)
        del gone[key]
        mutants.append(gone)
        for wrong in WRONG_VALUES:
            m = load_fixture(fixture)
            m[key] = wrong
            mutants.append(m)
    for outer in ("event", "alert"):
        if isinstance(base.get(outer), dict):
            inner = base[outer]
            for key in inner:
                for wrong in [*WRONG_VALUES, "DELETE"]:
                    m = load_fixture(fixture)
                    if wrong == "DELETE":
                        del m[outer][key]
                    else:
                        m[outer][key] = wrong
                    mutants.append(m)
    if isinstance(base.get("alerts"), list):
        for wrong in WRONG_VALUES:
            m = load_fixture(fixture)
            m["alerts"][0] = wrong
            mutants.append(m)
    for mutant in mutants:
        try:
            result = driver.parse(mutant)
        except PayloadValidationError:
            continue
        assert result.alerts and result.source == driver.name
        # and the registry never lets anything else out either
        with contextlib.suppress(PayloadValidationError):
            parse_webhook(mutant)


@pytest.mark.parametrize("payload", [[], [{"alerts": []}], "alert", 42, None, 3.5, True])
def test_non_object_payload_rejected(payload):
    with pytest.raises(PayloadValidationError, match="expected a JSON object"):
        parse_webhook(payload)
    with pytest.raises(PayloadValidationError, match="expected a JSON object"):
        parse_webhook(payload, driver="alertmanager")


@pytest.mark.parametrize("name", list(DRIVERS))
def test_every_driver_rejects_non_object_in_parse(name):
    driver = get_driver(name)
    assert driver.validate(["x"]) is False
    with pytest.raises(PayloadValidationError):
        driver.parse(["x"])  # type: ignore[arg-type]


def test_unknown_driver():
    with pytest.raises(UnknownDriverError) as exc:
        parse_webhook({"name": "x"}, driver="splunk")
    for name in DRIVERS:
        assert name in str(exc.value)
    with pytest.raises(UnknownDriverError):
        get_driver("nope")


def test_get_driver_is_case_insensitive():
    assert get_driver("Grafana").name == "grafana"


def test_unrecognised_payload_names_what_was_expected():
    with pytest.raises(PayloadValidationError) as exc:
        parse_webhook({"foo": 1, "bar": [1, 2]})
    message = str(exc.value)
    assert "no driver recognises" in message
    assert "groupKey" in message and "event_type" in message and "trigger_severity" in message


def test_zero_alerts_rejected():
    with pytest.raises(PayloadValidationError):
        parse_webhook({"status": "firing", "receiver": "r", "groupKey": "k", "alerts": []})
    with pytest.raises(PayloadValidationError):
        parse_webhook({"messages": []}, driver="pagerduty")


@pytest.mark.parametrize(
    "payload",
    [
        {"status": "firing", "receiver": "r", "groupKey": "k", "alerts": "nope"},
        {"status": "firing", "receiver": "r", "groupKey": "k", "alerts": [None]},
        {"event": {"event_type": "incident.triggered", "data": {"type": "incident"}}},
        {"alert_id": "", "alert_transition": "Triggered", "alert_type": "error"},
        {"condition_id": 1, "incident_id": None, "policy_name": "p"},
        {"action": "Create", "alert": {"message": "no id"}},
        {"event_id": "{EVENT.ID}", "trigger_id": "1", "trigger_name": "t", "trigger_severity": "High"},
        {"event_id": "1", "trigger_id": "1", "trigger_name": "t", "trigger_severity": "Catastrophic"},
        {"alerts": [{"status": "firing"}]},
    ],
)
def test_broken_vendor_shaped_payloads_rejected(payload):
    with pytest.raises(PayloadValidationError):
        parse_webhook(payload)
