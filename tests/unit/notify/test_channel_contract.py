"""One contract over every channel (Alertmanager's shared notifier tests):
the seed's return shape, a retry flag on every failure, a ConfigurationError
naming the key for bad config, and no secret in any error or metadata."""

from __future__ import annotations

import json
import logging

import pytest

from receivers import http_receiver, smtp_receiver
from signalfire.errors import ConfigurationError
from signalfire.notify.channels import CHANNELS, get_channel
from signalfire.notify.channels.base import Runtime
from signalfire.notify.models import NotificationMessage, SendResult
from signalfire.notify.outbound import OutboundPolicy
from signalfire.notify.secrets import MASK, SecretResolver, mask

SECRET = "S3CR3T-" + "q" * 30
LOCAL = Runtime(policy=OutboundPolicy(allow_loopback=True), local_mode=True)
MESSAGE = NotificationMessage(title="DiskFull", message="disk", severity="critical")


def _configs(url: str, smtp_port: int) -> dict[str, dict]:
    from urllib.parse import urlsplit

    return {
        "email": {"smtp_host": urlsplit(url).hostname, "smtp_port": smtp_port, "use_tls": False, "from_address": "a@b.c",
                  "to_addresses": ["x@y.z"], "username": "user", "password": SECRET},
        "slack": {"webhook_url": f"{url}/services/{SECRET}"},
        "pagerduty": {"integration_key": SECRET, "events_url": f"{url}/v2/enqueue"},
        "generic": {"endpoint": f"{url}/hook/{SECRET}", "headers": {"Authorization": f"Bearer {SECRET}"}},
        "console": {},
    }


def test_every_channel_is_registered_with_requirements():
    assert set(CHANNELS) == {"email", "slack", "pagerduty", "generic", "console"}
    for name in CHANNELS:
        req = get_channel(name, LOCAL).requirements()
        assert req["driver"] == name and isinstance(req["config"], dict)
    email = get_channel("email", LOCAL).requirements()["config"]
    assert email["smtp_host"]["required"] and email["smtp_port"]["default"] == 587 and email["password"]["secret"]
    assert get_channel("pagerduty", LOCAL).requirements()["config"]["events_url"]["default"] == \
        "https://events.pagerduty.com/v2/enqueue"


@pytest.mark.parametrize(("driver", "config", "key"), [
    ("email", {"from_address": "a@b.c"}, "smtp_host"),
    ("email", {"smtp_host": "h", "from_address": "nope"}, "from_address"),
    ("email", {"smtp_host": "h", "from_address": "a@b.c", "smtp_port": 70000}, "smtp_port"),
    ("slack", {"webhook_url": "https://hooks.slack.com/x", "colour": "red"}, "colour"),
    ("pagerduty", {"integration_key": "short"}, "integration_key"),
    ("pagerduty", {"integration_key": "k" * 32, "event_action": "explode"}, "event_action"),
    ("generic", {"method": "DELETE", "endpoint": "http://127.0.0.1/"}, "method"),
    ("generic", {"headers": {}}, "endpoint"),
    ("generic", {"endpoint": "http://127.0.0.1/", "headers": {"Host": "x"}}, "headers"),
    ("generic", {"endpoint": "http://127.0.0.1/", "timeout": 0}, "timeout"),
])
def test_bad_config_names_the_key(driver, config, key):
    with pytest.raises(ConfigurationError) as err:
        get_channel(driver, LOCAL).validate_config(config)
    assert key in err.value.message
    result = get_channel(driver, LOCAL).send(MESSAGE, config)
    assert not result.success and not result.retryable


def _all_results() -> list[tuple[str, str, SendResult]]:
    """Every channel made to fail in every way we can provoke, with secrets in its config."""
    out = []
    with http_receiver([(500, f"server echoes {SECRET}")]) as rx, smtp_receiver(fail_times=9, fail_code=535) as smtp:
        for driver, config in _configs(rx.url, smtp.port).items():
            out.append((driver, "error answer", get_channel(driver, LOCAL).send(MESSAGE, config)))
        dead = _configs("http://127.0.0.1:9", 9)
        for driver, config in dead.items():
            out.append((driver, "nothing listening", get_channel(driver, LOCAL).send(MESSAGE, config)))
        metadata = _configs("http://169.254.169.254", 25)
        for driver, config in metadata.items():
            out.append((driver, "refused destination", get_channel(driver, LOCAL).send(MESSAGE, config)))
    return out


def test_every_failure_has_the_standard_shape_and_a_retry_flag():
    for driver, case, result in _all_results():
        data = result.standard()
        assert set(data) == {"success", "message_id", "error", "metadata", "retryable"}, (driver, case)
        if driver == "console":
            assert data["success"]
            continue
        assert data["success"] is False and data["error"], (driver, case)
        assert isinstance(data["retryable"], bool)
        if case == "refused destination":
            assert data["retryable"] is False, driver
        if case == "nothing listening":
            assert data["retryable"] is True, driver


def test_no_channel_leaks_a_secret_into_errors_metadata_or_logs(caplog, capsys):
    caplog.set_level(logging.DEBUG)
    for driver, case, result in _all_results():
        blob = json.dumps(result.standard())
        assert SECRET not in blob, (driver, case, blob)
    printed = capsys.readouterr()
    assert SECRET not in caplog.text and SECRET not in printed.out and SECRET not in printed.err


def test_masking_and_references():
    masked = mask({"webhook_url": "https://hooks.slack.com/services/T/B/X", "channel": "#ops"}, ("webhook_url",))
    assert masked == {"webhook_url": MASK, "channel": "#ops"}
    ref = {"ssm": "/signalfire/slack"}
    assert mask({"webhook_url": ref}, ("webhook_url",))["webhook_url"] == ref
    assert mask({"headers": {"Authorization": "Bearer x"}}, ())["headers"] == {"Authorization": MASK}


def test_secret_references_resolve_at_send_time_and_validate_without_the_value():
    fetched = []

    def fetch(kind: str, name: str) -> str:
        fetched.append((kind, name))
        return "https://hooks.slack.com/services/T/B/resolved"

    runtime = Runtime(policy=OutboundPolicy(allow_loopback=True), local_mode=True, secrets=SecretResolver(fetch))
    channel = get_channel("slack", runtime)
    channel.validate_config({"webhook_url": "ssm:/signalfire/notify/slack-url"})
    assert fetched == []  # saving never reads the secret
    with http_receiver() as rx:
        def local(kind: str, name: str) -> str:
            return f"{rx.url}/services/{SECRET}"
        runtime.secrets = SecretResolver(local)
        result = get_channel("slack", runtime).send(MESSAGE, {"webhook_url": {"ssm": "/signalfire/notify/slack-url"}})
        assert result.success and rx.requests[0].path == f"/services/{SECRET}"
    with pytest.raises(ConfigurationError, match="under signalfire/notify/"):
        get_channel("slack", runtime).send(MESSAGE, {"webhook_url": "ssm:/other/app"}).error and None or \
            runtime.secrets.resolve("ssm:/other/app", "webhook_url")


def test_pipeline_validation_knows_every_channel_driver():
    from signalfire.pipelines.models import NOTIFY_DRIVERS

    assert set(NOTIFY_DRIVERS) == set(CHANNELS)
