"""Which host an alert is about: one function for the drivers, the check
stage and the analysis.  A leaf module (imports nothing of signalfire).

Labels are read in order of preference (``host``, ``hostname``,
``nodename``, ``instance``, ``node``); a value may be a URL, ``host:port``
or ``[v6]:port``.  Host names compare case-insensitively, so keys use
:func:`host_key`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

HOST_LABELS = ("host", "hostname", "nodename", "instance", "node")


def host_from_label(value: Any) -> str:
    """``"web-1:9100"`` -> ``"web-1"``; ``"https://svc.example.org/x"`` ->
    ``"svc.example.org"``; ``"[::1]:9100"`` -> ``"::1"``; a bare IPv6
    address stays whole."""
    raw = str(value).strip() if value is not None and not isinstance(value, dict | list | bool) else ""
    if not raw:
        return ""
    if "://" in raw:
        raw = raw.split("://", 1)[1]
    raw = raw.split("/", 1)[0].split("?", 1)[0]
    if "@" in raw:
        raw = raw.rsplit("@", 1)[1]
    if raw.startswith("["):
        return raw[1:].split("]", 1)[0]
    if raw.count(":") == 1:
        raw = raw.split(":", 1)[0]
    return raw.strip()


def host_key(hostname: str) -> str:
    """The form a host name is stored and compared under."""
    return hostname.strip().rstrip(".").lower()


def host_of(labels: Mapping[str, Any]) -> str:
    """The host ``labels`` name, or "" when none does."""
    for key in HOST_LABELS:
        host = host_from_label(labels.get(key))
        if host:
            return host
    return ""


def hosts_of(alerts: Iterable[Any]) -> list[str]:
    """Distinct hosts named by several alerts (objects with ``.labels``, or
    label mappings), in order of first mention."""
    found: dict[str, str] = {}
    for alert in alerts:
        host = host_of(getattr(alert, "labels", alert))
        if host and host_key(host) not in found:
            found[host_key(host)] = host
    return list(found.values())
