"""The outbound guard: private, loopback, link-local and metadata addresses are
refused unless allowed; the connection uses the checked address."""

from __future__ import annotations

import socket

import pytest

from signalfire.notify import outbound
from signalfire.notify.outbound import DestinationRefused, DestinationUnreachable, OutboundPolicy, check_url

STRICT = OutboundPolicy()


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://127.0.0.1:8080/", "http://localhost/", "http://[::1]/", "http://0.0.0.0/",
    "http://10.0.0.5/", "http://172.16.3.4/", "http://192.168.1.1/", "http://100.64.0.1/",
    "http://[::ffff:169.254.169.254]/", "http://[fe80::1]/", "http://2130706433/", "http://0x7f000001/",
    "http://224.0.0.1/", "file:///etc/passwd", "gopher://127.0.0.1:25/", "http://user:pw@example.com/",
])
def test_refused_destinations(url):
    with pytest.raises(DestinationRefused):
        check_url(url, STRICT)


def test_names_resolving_to_private_addresses_are_refused(monkeypatch):
    def fake(host, port, *a, **k):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(DestinationRefused, match="link-local"):
        check_url("https://rebind.example.com/hook", STRICT)


def test_public_addresses_pass_and_unresolvable_names_are_unreachable(monkeypatch):
    check_url("https://93.184.216.34/x", STRICT)

    def fail(*a, **k):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(DestinationUnreachable):
        check_url("https://nowhere.invalid/x", STRICT)
    check_url("https://nowhere.invalid/x", STRICT, resolve_name=False)  # allowed when saving


def test_allowlist_and_local_loopback():
    check_url("http://127.0.0.1:9000/", OutboundPolicy(allow_loopback=True))
    with pytest.raises(DestinationRefused):
        check_url("http://169.254.169.254/", OutboundPolicy(allow_loopback=True))  # loopback only, not metadata
    allowed = OutboundPolicy.parse("10.1.0.0/16, alerts.internal", allow_loopback=False)
    check_url("http://10.1.2.3/", allowed)
    with pytest.raises(DestinationRefused):
        check_url("http://10.2.0.1/", allowed)


def test_the_connection_goes_to_the_checked_address(monkeypatch):
    """A name is resolved once: the request goes to that IP with the name as Host."""
    import httpx

    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"], seen["host"] = str(request.url), request.headers["host"]
        return httpx.Response(200, text="ok")

    monkeypatch.setattr(socket, "getaddrinfo", lambda h, p, *a, **k: [(2, 1, 6, "", ("93.184.216.34", p))])
    reply = outbound.request("POST", "https://hooks.example.com/x?y=1", STRICT, json_body={},
                             transport=httpx.MockTransport(handler))
    assert reply.status == 200
    assert seen == {"url": "https://93.184.216.34/x?y=1", "host": "hooks.example.com"}


def test_channels_refuse_private_destinations_on_save_and_send():
    from signalfire.notify.channels import get_channel
    from signalfire.notify.channels.base import Runtime
    from signalfire.notify.models import NotificationMessage

    runtime = Runtime(policy=OutboundPolicy(), local_mode=False)
    message = NotificationMessage(title="t")
    cases = {
        "generic": {"endpoint": "http://169.254.169.254/latest/meta-data/"},
        "pagerduty": {"integration_key": "k" * 32, "events_url": "https://10.0.0.1/v2/enqueue"},
        "email": {"smtp_host": "127.0.0.1", "from_address": "a@b.c", "to_addresses": ["x@y.z"]},
        "slack": {"webhook_url": "https://hooks.slack.com.evil/x"},
    }
    for driver, config in cases.items():
        channel = get_channel(driver, runtime)
        with pytest.raises((DestinationRefused, Exception)):
            channel.validate_config(config, resolve_names=False)
        result = channel.send(message, config)
        assert not result.success and not result.retryable, driver
