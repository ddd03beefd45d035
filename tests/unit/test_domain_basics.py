"""Pure domain helpers: time parsing, ids, change detection, page tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signalfire.alerts.ingest import content_hash
from signalfire.alerts.models import AlertStatus, ParsedAlert, Severity, normalize_severity, normalize_status
from signalfire.errors import BadRequestError
from signalfire.ids import alert_id, new_id
from signalfire.store.codec import decode_token, encode_token, serialize
from signalfire.timeutil import iso, parse_time


@pytest.mark.parametrize("value, expected", [
    ("2026-11-27T10:00:00Z", datetime(2026, 11, 27, 10, tzinfo=UTC)),
    ("2026-11-27T10:00:00.123456789Z", datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC)),
    ("2026-11-27T12:00:00+02:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),
    (1795600800, datetime.fromtimestamp(1795600800, tz=UTC)),
    (1795600800000, datetime.fromtimestamp(1795600800, tz=UTC)),
    ("1795600800", datetime.fromtimestamp(1795600800, tz=UTC)),
    ("2024.05.01 10:12:30", datetime(2024, 5, 1, 10, 12, 30, tzinfo=UTC)),
    ("0001-01-01T00:00:00Z", None),
    ("", None),
    ("not a time", None),
    (True, None),
])
def test_parse_time(value, expected):
    assert parse_time(value) == expected


def test_iso_sorts_as_text():
    a, b = datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 10, tzinfo=UTC)
    assert iso(a) < iso(b) and iso(a).endswith("Z")


def test_alert_id_is_stable_and_source_scoped():
    assert alert_id("grafana", "x") == alert_id("grafana", "x")
    assert alert_id("grafana", "x") != alert_id("zabbix", "x")
    assert new_id("inc") != new_id("inc") and new_id("inc").startswith("inc_")


def _alert(**kw) -> ParsedAlert:
    base = {"fingerprint": "f", "name": "n", "status": "firing", "severity": "warning", "labels": {"a": "1"}}
    return ParsedAlert(**(base | kw))


def test_content_hash_ignores_moving_end_time_while_firing():
    assert content_hash(_alert(ended_at=datetime(2026, 1, 1, tzinfo=UTC))) == content_hash(
        _alert(ended_at=datetime(2026, 1, 2, tzinfo=UTC)))
    resolved = [_alert(status="resolved", ended_at=datetime(2026, 1, d, tzinfo=UTC)) for d in (1, 2)]
    assert content_hash(resolved[0]) != content_hash(resolved[1])


@pytest.mark.parametrize("change", [{"severity": "critical"}, {"status": "resolved"}, {"labels": {"a": "2"}},
                                    {"description": "new"}, {"name": "other"}])
def test_content_hash_sees_real_changes(change):
    assert content_hash(_alert()) != content_hash(_alert(**change))


def test_vocabularies():
    assert normalize_severity("Disaster") == Severity.CRITICAL
    assert normalize_severity("P3") == Severity.WARNING
    assert normalize_severity("whatever") == Severity.WARNING
    assert normalize_status("OK") == AlertStatus.RESOLVED
    assert normalize_status("alerting") == AlertStatus.FIRING


def test_page_tokens_round_trip_and_reject_garbage():
    key = serialize({"PK": "ALERT#1", "SK": "META", "GSI1PK": "ALERTS", "GSI1SK": "2026#1"})
    assert decode_token(encode_token(key)) == key
    for bad in ("@@@", "WzFd", "eyJhIjogMX0"):  # junk, [1], {"a": 1}
        with pytest.raises(BadRequestError):
            decode_token(bad)
