"""The HTTP API first (signalfire_local.priority): pipeline work waits
before each DynamoDB call while a request is served; requests never wait
for it.  Order is asserted, never time."""

from __future__ import annotations

import threading

from signalfire_local import priority


def test_pipeline_work_waits_until_the_request_is_answered() -> None:
    order: list[str] = []
    in_request, answer = threading.Event(), threading.Event()

    def request() -> None:
        with priority.serving_request():
            in_request.set()
            answer.wait(10)
            order.append("answered")

    def pipeline() -> None:
        priority.step_aside(most=10)
        order.append("pipeline step")

    served = threading.Thread(target=request)
    served.start()
    in_request.wait(10)
    worker = threading.Thread(target=pipeline)
    worker.start()
    worker.join(0.2)
    assert worker.is_alive() and order == []  # it is waiting for the request
    answer.set()
    served.join(10)
    worker.join(10)
    assert order == ["answered", "pipeline step"]
    assert priority.requests_in_flight() == 0


def test_nothing_waits_when_no_request_is_served_and_a_request_never_waits() -> None:
    priority.step_aside(most=60)  # idle: returns at once (a wait would hang this test for a minute)
    with priority.serving_request():
        priority.step_aside(most=60)  # the request's own thread, and its DynamoDB calls, never wait
        assert priority.requests_in_flight() == 1
    assert priority.requests_in_flight() == 0


def test_a_storm_of_requests_delays_pipeline_work_but_never_stops_it() -> None:
    """Each step waits at most its bound: a run progresses even if requests never stop."""
    stop = threading.Event()

    def storm() -> None:
        while not stop.is_set():
            with priority.serving_request():
                stop.wait(0.001)

    senders = [threading.Thread(target=storm) for _ in range(4)]
    for s in senders:
        s.start()
    try:
        for _ in range(5):
            priority.step_aside(most=0.01)  # returns: bounded
    finally:
        stop.set()
        for s in senders:
            s.join(10)
    assert priority.requests_in_flight() == 0
