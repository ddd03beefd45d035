"""A pipeline's ``defaults.timeout_seconds`` is the deadline of each stage's
outbound calls, and so is the function's remaining time less a margin: a
delivery or an AI call to a real local server that does not answer is cut
there, recorded as failed with the reason, never as done.

The servers answer only after far longer than the deadline (and than the
channel's or provider's own timeout would allow to fail the same way), so a
run that ends with the deadline's reason was cut by it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_local_stepfunctions import _env, sf  # noqa: F401 - the orchestration fixtures
from vendor_server import VendorServer

from receivers import smtp_receiver

#: The servers hold their answer this long: far past every deadline here.
SLOW_SECONDS = 25.0


@pytest.fixture
def slow() -> Iterator[VendorServer]:
    srv = VendorServer().start()
    try:
        yield srv
    finally:
        srv.stop()


def _channel(name: str, endpoint: str) -> None:
    from signalfire import services
    from signalfire.notify.models import NotificationChannel

    # the generic channel waits 30 s by default: a cut within the pipeline's 1 s is the deadline's
    services.channel_store().create(NotificationChannel(name=name, driver="generic", config={"endpoint": endpoint}))


def _deliveries(run_id: str) -> list:
    from signalfire import services

    return services.delivery_store().deliveries(run_id)


def test_a_delivery_is_cut_at_the_pipeline_timeout_and_recorded_failed_with_the_reason(sf, slow):  # noqa: F811
    slow.answer(200, {"ok": True}, delay=SLOW_SECONDS)
    _channel("slow-hook", slow.url + "/hook")
    sf.pipeline("impatient", [{"id": "notify", "type": "notify", "config": {"channels": ["slow-hook"]}}],
                defaults={"timeout_seconds": 1, "max_retries": 0})
    [run_id] = sf.fire("impatient")
    done = sf.wait(run_id)
    run, [stage] = done["run"], done["stages"]
    assert len(slow.requests) == 1  # the call was made, and its answer never waited for
    assert run.status == "FAILED" and stage.status == "FAILED"
    reason = "cut at the stage's deadline: the pipeline's defaults.timeout_seconds=1"
    assert reason in run.last_error_message and reason in stage.error_message
    [delivery] = _deliveries(run_id)
    assert delivery.status.value == "failed" and delivery.message_id is None and delivery.delivered_at is None
    assert reason in delivery.error and delivery.retryable is True
    assert sf.delivered(run_id) == []


def test_the_function_remaining_time_cuts_a_delivery_when_it_is_shorter(sf, slow, monkeypatch):  # noqa: F811
    """The same cut from the other bound: the Lambda context this fixture
    hands the stage counts down from 30 s; with the margin kept for the
    records set to leave 1 s of it, that 1 s wins over the pipeline's 300 s."""
    from signalfire.stages import runner

    monkeypatch.setattr(runner, "RECORD_MARGIN_SECONDS", 29.0)
    slow.answer(200, {"ok": True}, delay=SLOW_SECONDS)
    _channel("slow-hook", slow.url + "/hook")
    sf.pipeline("default-timeout", [{"id": "notify", "type": "notify", "config": {"channels": ["slow-hook"]}}],
                defaults={"max_retries": 0})
    [run_id] = sf.fire("default-timeout")
    run = sf.wait(run_id)["run"]
    assert len(slow.requests) == 1  # started, then cut
    assert run.status == "FAILED"
    assert "cut at the stage's deadline: the function's remaining time" in run.last_error_message
    [delivery] = _deliveries(run_id)
    assert delivery.status.value == "failed" and "the function's remaining time" in delivery.error


def test_an_ai_call_is_cut_at_the_pipeline_timeout_and_its_analysis_recorded_failed(sf, slow):  # noqa: F811
    from signalfire import services
    from signalfire.intelligence.models import IntelligenceProvider

    # ollama waits 60 s by itself; the server would answer after SLOW_SECONDS
    slow.answer(200, {"message": {"content": "{}"}}, delay=SLOW_SECONDS)
    services.intelligence_store().create_provider(
        IntelligenceProvider(name="slow-llm", provider="ollama", config={"base_url": slow.url}))
    sf.pipeline("impatient-ai", [{"id": "analyze", "type": "intelligence",
                                  "config": {"provider": "slow-llm", "fallback": False}}],
                defaults={"timeout_seconds": 1, "max_retries": 0})
    [run_id] = sf.fire("impatient-ai")
    done = sf.wait(run_id)
    run, [stage] = done["run"], done["stages"]
    assert len(slow.requests) == 1
    reason = "cut at the stage's deadline: the pipeline's defaults.timeout_seconds=1"
    assert run.status == "FAILED" and stage.status == "FAILED"
    assert run.last_error_type == "RetriesExhaustedError" and "ProviderError" in run.last_error_message
    assert reason in run.last_error_message
    [analysis] = services.intelligence_store().analyses_for_incident(run.incident_id)
    assert analysis.status.value == "FAILED" and analysis.error_type == "ProviderError"
    assert reason in analysis.error_message and analysis.recommendations == []


def test_an_smtp_delivery_is_cut_at_the_pipeline_timeout(sf):  # noqa: F811
    """A relay that takes the message but does not answer DATA: the SMTP
    exchange gets only what the deadline leaves (the channel's own timeout is 30 s)."""
    from signalfire import services
    from signalfire.notify.models import NotificationChannel

    with smtp_receiver(delay=SLOW_SECONDS) as smtp:
        services.channel_store().create(NotificationChannel(name="slow-mail", driver="email", config={
            "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "use_tls": False,
            "from_address": "sf@example.com", "to_addresses": ["ops@example.com"]}))
        sf.pipeline("impatient-mail", [{"id": "notify", "type": "notify", "config": {"channels": ["slow-mail"]}}],
                    defaults={"timeout_seconds": 1, "max_retries": 0})
        [run_id] = sf.fire("impatient-mail")
        run = sf.wait(run_id)["run"]
        assert smtp.attempts == 1 and smtp.messages == []  # DATA was sent; its answer never waited for
    assert run.status == "FAILED"
    [delivery] = _deliveries(run_id)
    assert delivery.status.value == "failed" and delivery.delivered_at is None
    assert "cut at the stage's deadline: the pipeline's defaults.timeout_seconds=1" in delivery.error
