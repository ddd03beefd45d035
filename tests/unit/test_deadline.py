"""The deadline of a stage's outbound calls: which bound wins, how a call's
own timeout is cut, and that it reaches the threads a stage sends from."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from signalfire import deadline
from signalfire.stages.runner import RECORD_MARGIN_SECONDS, StageRequest, stage_deadline


def _req(**node: object) -> StageRequest:
    return StageRequest(run_id="r", trace_id="t", index=0, node={"id": "n", "type": "notify", **node})


def test_without_a_deadline_a_call_keeps_its_own_timeout():
    assert deadline.current() is None
    assert deadline.bound(30.0) == deadline.Bound(30.0)
    assert deadline.Bound(30.0).says() == ""


def test_a_deadline_cuts_a_longer_timeout_and_says_why():
    with deadline.within(2.0, "the pipeline's defaults.timeout_seconds=2"):
        cut = deadline.bound(30.0)
        assert 0 < cut.seconds <= 2.0 and cut.cut_by == "the pipeline's defaults.timeout_seconds=2"
        assert cut.says() == " (cut at the stage's deadline: the pipeline's defaults.timeout_seconds=2)"
        assert deadline.bound(0.5) == deadline.Bound(0.5)  # a shorter own timeout holds
    assert deadline.current() is None


def test_an_inner_deadline_never_extends_an_outer_one():
    with deadline.within(1.0, "outer"), deadline.within(100.0, "inner"):
        assert deadline.bound(30.0).cut_by == "outer"
    with deadline.within(100.0, "outer"), deadline.within(1.0, "inner"):
        assert deadline.bound(30.0).cut_by == "inner"


def test_a_passed_deadline_starts_no_call():
    with deadline.within(-1.0, "the function's remaining time"), \
            pytest.raises(deadline.DeadlinePassed, match="deadline has passed \\(the function's remaining time\\)"):
        deadline.bound(30.0)


def test_carry_hands_the_deadline_to_pool_threads_and_only_to_them():
    seen: list[str | None] = []

    def probe(_: int) -> str | None:
        found = deadline.current()
        return found.reason if found else None

    with deadline.within(5.0, "stage"), ThreadPoolExecutor(max_workers=3) as pool:
        seen = list(pool.map(deadline.carry(probe), range(6)))
        bare = list(pool.map(probe, range(3)))
    assert seen == ["stage"] * 6 and bare == [None] * 3
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(deadline.current()))
    thread.start()
    thread.join()
    assert other == [None]  # another invocation's thread has its own (none)


def test_the_stage_deadline_is_the_shorter_of_the_pipeline_timeout_and_the_function_time_left():
    assert stage_deadline(_req(timeout_seconds=5), remaining_seconds=60.0) == (
        5.0, "the pipeline's defaults.timeout_seconds=5")
    seconds, why = stage_deadline(_req(timeout_seconds=300), remaining_seconds=60.0) or (0, "")
    assert seconds == 60.0 - RECORD_MARGIN_SECONDS and why.startswith("the function's remaining time (60.0 s)")
    assert stage_deadline(_req(), remaining_seconds=None) is None  # a run compiled before the field: no cut
    assert stage_deadline(_req(timeout_seconds=7), remaining_seconds=None) == (
        7.0, "the pipeline's defaults.timeout_seconds=7")
