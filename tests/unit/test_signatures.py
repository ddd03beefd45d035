"""Vendor webhook signatures (PagerDuty v3, Grafana, generic)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from signalfire.alerts.signatures import SignatureVerifier, parse_keys
from signalfire.errors import UnauthorizedError

BODY = b'{"event": {"event_type": "incident.triggered"}}'


def sig(key: str, data: bytes) -> str:
    return hmac.new(key.encode(), data, hashlib.sha256).hexdigest()


def verifier(**keys: str) -> SignatureVerifier:
    return SignatureVerifier(lambda: keys)


def test_pagerduty_valid_signature_among_several():
    v = verifier(pagerduty="pd-secret")
    header = f"v1=deadbeef,v1={sig('pd-secret', BODY)}"
    assert v.verify("pagerduty", {"X-PagerDuty-Signature": header}, BODY) is True


def test_pagerduty_wrong_signature_is_401():
    with pytest.raises(UnauthorizedError, match="does not match"):
        verifier(pagerduty="pd-secret").verify("pagerduty", {"x-pagerduty-signature": f"v1={sig('x', BODY)}"}, BODY)


def test_configured_key_but_unsigned_request_is_401():
    with pytest.raises(UnauthorizedError, match="not signed"):
        verifier(pagerduty="pd-secret").verify("pagerduty", {}, BODY)


def test_grafana_signature_with_timestamp():
    v = verifier(grafana="g-key")
    headers = {"X-Grafana-Alerting-Signature": sig("g-key", b"1700000000:" + BODY),
               "X-Grafana-Alerting-Timestamp": "1700000000"}
    assert v.verify("grafana", headers, BODY) is True
    headers["X-Grafana-Alerting-Timestamp"] = "1700000001"
    with pytest.raises(UnauthorizedError):
        v.verify("grafana", headers, BODY)


def test_generic_signature_header():
    v = verifier(generic="k")
    assert v.verify("generic", {"X-Signalfire-Signature": f"sha256={sig('k', BODY)}"}, BODY)
    with pytest.raises(UnauthorizedError):
        v.verify("generic", {"X-Signalfire-Signature": f"sha256={sig('k', BODY + b' ')}"}, BODY)


def test_driver_without_key_is_not_checked():
    assert verifier(pagerduty="k").verify("datadog", {"X-PagerDuty-Signature": "v1=zz"}, BODY) is False


def test_parse_keys_tolerates_junk():
    assert parse_keys('{"pagerduty": "a", "grafana": ""}') == {"pagerduty": "a"}
    assert parse_keys("not json") == {} and parse_keys("[1]") == {} and parse_keys(None) == {}
