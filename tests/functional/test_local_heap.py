"""The local stack's start-up heap is kept out of the cyclic garbage
collector (stack._settle_heap): a full collection of it took about 0.3 s and
stalled every sender while it ran (docs/benchmarks.md, repeats' p99)."""

from __future__ import annotations

import gc
from pathlib import Path

from inprocess import local_in_process


def test_the_start_up_heap_is_frozen_while_the_stack_runs_and_released_after(tmp_path: Path):
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with local_in_process(tmp_path) as local:
        frozen = gc.get_freeze_count()
        collectable = len(gc.get_objects())
        # moto's and botocore's models, the handlers, the state machine: all frozen,
        # so a full collection walks only what was made since
        assert frozen > 100_000, frozen
        assert collectable < frozen / 10, (collectable, frozen)
        # and the stack still works: garbage made now is collected as before
        r = local.sender().post("/alerts/webhook/", json={"name": "HeapCheck", "labels": {"host": "h1"}})
        assert r.status_code == 202, r.text
        gc.collect()
        assert gc.get_freeze_count() > 100_000, "a collection does not thaw the start-up objects"
    assert gc.get_freeze_count() == 0, "stop() gives the start-up objects back to the collector"
