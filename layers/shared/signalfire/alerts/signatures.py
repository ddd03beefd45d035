"""Vendor webhook signatures, verified where the sender signs.

Signing keys live in one optional Secrets Manager secret holding a JSON
object ``{"<driver>": "<key>", ...}``.  For a driver with a key, a request
must carry a valid signature; for a driver without one, a signature that is
sent cannot be checked and the token alone authenticates.

=========  =====================================  ============================================
driver     header                                 signed content
=========  =====================================  ============================================
pagerduty  X-PagerDuty-Signature: v1=<hex>[,...]  HMAC-SHA256(key, body)
grafana    X-Grafana-Alerting-Signature: <hex>    HMAC-SHA256(key, body), or of
                                                  ``<timestamp>:<body>`` when
                                                  X-Grafana-Alerting-Timestamp is sent
generic    X-Signalfire-Signature: sha256=<hex>   HMAC-SHA256(key, body)
=========  =====================================  ============================================
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable

from signalfire.errors import UnauthorizedError

KeyLookup = Callable[[], dict[str, str]]


def _hmac(key: str, data: bytes) -> str:
    return hmac.new(key.encode(), data, hashlib.sha256).hexdigest()


def _candidates(driver: str, headers: dict[str, str], body: bytes, key: str) -> tuple[list[str], str] | None:
    """(signatures sent, expected signature) for ``driver``, or None if it sent none."""
    h = {k.lower(): v for k, v in headers.items()}
    if driver == "pagerduty" and "x-pagerduty-signature" in h:
        sent = [s.strip()[3:] for s in h["x-pagerduty-signature"].split(",") if s.strip().startswith("v1=")]
        return sent, _hmac(key, body)
    if driver == "grafana" and "x-grafana-alerting-signature" in h:
        stamp = h.get("x-grafana-alerting-timestamp")
        signed = f"{stamp}:".encode() + body if stamp else body
        return [h["x-grafana-alerting-signature"].strip()], _hmac(key, signed)
    if "x-signalfire-signature" in h:
        value = h["x-signalfire-signature"].strip()
        return [value.removeprefix("sha256=")], _hmac(key, body)
    return None


class SignatureVerifier:
    def __init__(self, keys: KeyLookup) -> None:
        self._keys = keys

    def verify(self, driver: str, headers: dict[str, str], body: bytes) -> bool:
        """True when a signature was checked; raises when it is missing or wrong."""
        key = self._keys().get(driver)
        if not key:
            return False
        found = _candidates(driver, headers, body, key)
        if found is None:
            raise UnauthorizedError(f"a signing key is configured for {driver} but the request is not signed")
        sent, expected = found
        if not any(hmac.compare_digest(s.lower(), expected) for s in sent if s):
            raise UnauthorizedError(f"the {driver} webhook signature does not match the configured signing key")
        return True


def parse_keys(raw: str | bytes | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items() if v} if isinstance(data, dict) else {}
