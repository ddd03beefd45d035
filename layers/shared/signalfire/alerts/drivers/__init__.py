"""Webhook drivers and the registry that picks one for a payload.

Detection order matters: the most specific shapes are tried first, Grafana
before Alertmanager (a Grafana unified-alerting payload *is* an Alertmanager
payload plus Grafana fields), and the generic driver last.  See
docs/drivers.md.
"""

from __future__ import annotations

from typing import Any

from signalfire.alerts.drivers.alertmanager import AlertManagerDriver
from signalfire.alerts.drivers.base import BaseAlertDriver
from signalfire.alerts.drivers.datadog import DatadogDriver
from signalfire.alerts.drivers.generic import GenericWebhookDriver
from signalfire.alerts.drivers.grafana import GrafanaDriver
from signalfire.alerts.drivers.newrelic import NewRelicDriver
from signalfire.alerts.drivers.opsgenie import OpsGenieDriver
from signalfire.alerts.drivers.pagerduty import PagerDutyDriver
from signalfire.alerts.drivers.zabbix import ZabbixDriver
from signalfire.alerts.models import ParsedPayload
from signalfire.errors import PayloadValidationError, UnknownDriverError

#: Every driver by name, in detection order (generic last).
DRIVERS: dict[str, type[BaseAlertDriver]] = {
    cls.name: cls
    for cls in (
        GrafanaDriver,
        AlertManagerDriver,
        PagerDutyDriver,
        DatadogDriver,
        NewRelicDriver,
        OpsGenieDriver,
        ZabbixDriver,
        GenericWebhookDriver,
    )
}

FALLBACK_DRIVER = GenericWebhookDriver.name


def get_driver(name: str) -> BaseAlertDriver:
    """The driver called ``name`` (case-insensitive)."""
    key = (name or "").strip().lower() if isinstance(name, str) else ""
    cls = DRIVERS.get(key)
    if cls is None:
        raise UnknownDriverError(
            f"unknown driver {name!r}: known drivers are {', '.join(DRIVERS)}",
            details={"driver": name, "known": list(DRIVERS)},
        )
    return cls()


def detect_driver(payload: Any) -> BaseAlertDriver | None:
    """The first driver whose ``validate`` accepts ``payload``: vendor drivers in
    order, the generic driver only when none of them does."""
    if not isinstance(payload, dict):
        return None
    for cls in DRIVERS.values():
        driver = cls()
        if driver.validate(payload):
            return driver
    return None


def _expected(driver: BaseAlertDriver) -> str:
    return str(getattr(driver, "expected", "")) or "its vendor's fields"


def parse_webhook(payload: Any, driver: str | None = None) -> ParsedPayload:
    """Parse one webhook body with the named driver, or the detected one.

    Raises :class:`UnknownDriverError` for an unknown ``driver`` name and
    :class:`PayloadValidationError` for anything we cannot ingest: not a JSON
    object, not the forced vendor's shape, no driver recognises it, broken in
    the vendor's shape, or no alerts in it.
    """
    chosen = get_driver(driver) if driver is not None else None
    if not isinstance(payload, dict):
        raise PayloadValidationError(
            f"expected a JSON object, got {type(payload).__name__}",
            details={"driver": chosen.name if chosen else None},
        )
    if chosen is not None:
        if not chosen.validate(payload):
            raise PayloadValidationError(
                f"payload is not a {chosen.title} webhook: expected fields {_expected(chosen)}",
                details={"driver": chosen.name},
            )
    else:
        chosen = detect_driver(payload)
        if chosen is None:
            expectations = "; ".join(f"{cls.title}: {_expected(cls())}" for cls in DRIVERS.values())
            raise PayloadValidationError(
                f"no driver recognises this payload; expected one of -- {expectations}",
                details={"driver": None, "keys": sorted(str(k) for k in payload)[:50]},
            )
    try:
        parsed = chosen.parse(payload)
    except PayloadValidationError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        # A driver bug on an odd payload: answer 400 with what we know rather than 500.
        raise PayloadValidationError(
            f"{chosen.title} payload could not be parsed: {type(exc).__name__}: {exc}",
            details={"driver": chosen.name},
        ) from exc
    if not parsed.alerts:
        raise PayloadValidationError(
            f"{chosen.title} payload contains no alerts", details={"driver": chosen.name}
        )
    return parsed


__all__ = [
    "DRIVERS",
    "AlertManagerDriver",
    "BaseAlertDriver",
    "DatadogDriver",
    "GenericWebhookDriver",
    "GrafanaDriver",
    "NewRelicDriver",
    "OpsGenieDriver",
    "PagerDutyDriver",
    "ZabbixDriver",
    "detect_driver",
    "get_driver",
    "parse_webhook",
]
