"""Exactly-once delivery per (run, node, channel): a claim (conditional write)
precedes every send, so concurrent attempts cannot both send."""

from __future__ import annotations

import threading
import time

from receivers import http_receiver


def _service():
    from signalfire import services
    from signalfire.notify.channels import Runtime
    from signalfire.notify.outbound import OutboundPolicy
    from signalfire.notify.service import NotifyService

    return NotifyService(services.channel_store(), services.delivery_store(),
                         Runtime(policy=OutboundPolicy(allow_loopback=True), local_mode=True))


def test_two_concurrent_attempts_send_once(moto_stack):
    from signalfire.notify.models import NotificationMessage
    from signalfire.notify.service import Target

    with http_receiver([(200, "ok")]) as rx:
        slow = threading.Event()
        original = rx.answer

        def answer():  # hold the first send while the second attempt arrives
            slow.wait(5)
            return original()

        rx.answer = answer  # type: ignore[method-assign]
        target = Target(name="hook", driver="generic", config={"endpoint": rx.url})
        message = NotificationMessage(title="DiskFull")
        results = []

        def attempt():
            results.append(_service().deliver(message, [target], run_id="run-1", node_id="notify", incident_id=None))

        first = threading.Thread(target=attempt)
        first.start()
        deadline = time.monotonic() + 5
        from signalfire import services

        while time.monotonic() < deadline and not services.delivery_store().deliveries("run-1"):
            time.sleep(0.02)
        attempt()  # the second attempt, while the first is still sending
        slow.set()
        first.join(10)
        assert len(rx.requests) == 1
        statuses = sorted(r.deliveries[0].status for r in results)
        assert statuses == ["delivered", "in_progress"]
        second = next(r for r in results if r.deliveries[0].status == "in_progress")
        assert second.retryable_failure  # the stage would retry, and then find it delivered
        third = _service().deliver(message, [target], run_id="run-1", node_id="notify", incident_id=None)
        assert third.channels_already_delivered == ["hook"] and len(rx.requests) == 1


def test_an_abandoned_claim_is_taken_over_after_its_lease(moto_stack):
    from signalfire import services
    from signalfire.notify.store import Delivery, DeliveryStatus

    store = services.delivery_store()
    d = Delivery(run_id="r", node_id="n", channel="c", status=DeliveryStatus.SENDING, claimed_by="dead")
    assert store.claim(d, lease_seconds=-1).claimed  # a holder whose lease has already run out
    taken = store.claim(d.model_copy(update={"claimed_by": "alive"}), lease_seconds=60)
    assert taken.claimed and taken.existing is not None and taken.existing.claimed_by == "dead"
    blocked = store.claim(d.model_copy(update={"claimed_by": "third"}), lease_seconds=60)
    assert not blocked.claimed and blocked.existing is not None and blocked.existing.claimed_by == "alive"
    store.finish(d.model_copy(update={"claimed_by": "alive", "status": DeliveryStatus.DELIVERED}))
    assert not store.claim(d.model_copy(update={"claimed_by": "fourth"}), lease_seconds=60).claimed
    assert store.deliveries("r")[0].status == DeliveryStatus.DELIVERED
