"""Which host an alert is about: one rule for drivers, check stage, analysis and notifications."""

from __future__ import annotations

import pytest

from signalfire.alerts.drivers._common import host_from_instance
from signalfire.alerts.hosts import host_from_label, host_key, host_of, hosts_of
from signalfire.intelligence import hosts as intelligence_hosts


@pytest.mark.parametrize(("value", "host"), [
    ("web-1", "web-1"),
    ("web-1:9100", "web-1"),
    ("10.0.0.5:9100", "10.0.0.5"),
    ("[::1]:9100", "::1"),
    ("[2001:db8::7]", "2001:db8::7"),
    ("2001:db8::7", "2001:db8::7"),       # bare IPv6: the colons are not a port
    ("https://svc.example.org:8443/metrics", "svc.example.org"),
    ("user@db-1:5432", "db-1"),
    ("  web-2  ", "web-2"),
    ("", ""),
    (None, ""),
])
def test_host_from_label(value: object, host: str) -> None:
    assert host_from_label(value) == host
    assert host_from_instance(value) == host  # the drivers use the same rule


def test_labels_in_order_of_preference() -> None:
    assert host_of({"instance": "web-1:9100", "host": "web-1.prod"}) == "web-1.prod"
    assert host_of({"nodename": "node-7", "instance": "10.0.0.7:9100"}) == "node-7"
    assert host_of({"instance": "[::1]:9100"}) == "::1"
    assert host_of({"node": "n1"}) == "n1"
    assert host_of({"job": "api"}) == ""


def test_hosts_of_alerts_dedups_case_insensitively() -> None:
    class A:
        def __init__(self, labels: dict) -> None:
            self.labels = labels

    alerts = [A({"instance": "Web-1:9100"}), A({"host": "web-1"}), A({"hostname": "db-1"}), A({})]
    assert hosts_of(alerts) == ["Web-1", "db-1"]
    assert host_key("Web-1.") == "web-1"
    assert intelligence_hosts.hosts_of is hosts_of  # the analysis reads hosts by the same rule
