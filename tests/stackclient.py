"""A client of the local stack's HTTP API, for the tests that drive it over
real HTTP: the `signalfire local` process (tests/e2e, localproc.Local) and
the same stack served in the test's own process (tests/functional,
inprocess.InProcessLocal).  Both have ``url``, ``token``, ``admin``,
``outbox``, ``sender()`` and ``admin_client()`` (importable as ``stackclient``)."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx

_seq = itertools.count()
T = TypeVar("T")

#: The stages each built-in preset runs, in order (one table for the e2e and in-process suites).
PRESET_STAGES = {
    "local-monitor": ["CHECK", "NOTIFY"],
    "local-smart": ["CHECK", "ANALYZE", "NOTIFY"],
    "direct": ["NOTIFY"],
    "health-checked": ["CHECK", "NOTIFY"],
    "ai-analyzed": ["ANALYZE", "NOTIFY"],
    "full": ["CHECK", "ANALYZE", "NOTIFY"],
}


class Stack(Protocol):
    url: str
    outbox: Path

    def sender(self) -> httpx.Client: ...

    def admin_client(self) -> httpx.Client: ...


def until(predicate: Callable[[], T], timeout: float = 60, what: str = "condition", every: float = 0.1) -> T:
    """Poll ``predicate`` every ``every`` seconds until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def fire(local: Stack, pipeline: str | None = None, severity: str = "critical", name: str | None = None,
         **extra: Any) -> dict[str, Any]:
    """A generic webhook (host web-1) that must be accepted; its 202 body."""
    body = {"name": name or f"Probe{next(_seq)}-{uuid.uuid4().hex[:6]}", "severity": severity,
            "description": "disk / is 97% full", "labels": {"host": "web-1"}, **extra}
    with local.sender() as s:
        r = s.post("/alerts/webhook/generic/", json=body, params={"pipeline": pipeline} if pipeline else None)
    assert r.status_code == 202, r.text
    return dict(r.json())


def wait_run(local: Stack, run_id: str, timeout: float = 60) -> dict[str, Any]:
    """The finished run; ``stages`` without the ingest stage (checked on its own)."""
    with local.admin_client() as api:
        body = until(lambda: (b := api.get(f"/runs/{run_id}").json())["run"]["outcome"] and b, timeout,
                     f"run {run_id} to finish")
    ingest = [s for s in body["stages"] if s["stage"] == "INGEST"]
    assert len(ingest) == 1 and ingest[0]["status"] == "SUCCEEDED", body["stages"]
    assert ingest[0]["output_ref"] == body["run"]["normalized_payload_ref"]
    body["stages"] = [s for s in body["stages"] if s["stage"] != "INGEST"]
    return dict(body)


def wait_outcome(local: Stack, run_id: str, outcome: str, timeout: float = 60) -> dict[str, Any]:
    """The run once its outcome is ``outcome`` (e.g. COMPLETED after a resume)."""
    with local.admin_client() as api:
        return dict(until(lambda: (b := api.get(f"/runs/{run_id}").json())["run"]["outcome"] == outcome and b,
                          timeout, f"run {run_id} to be {outcome}"))


def create_pipeline(local: Stack, name: str, nodes: list[dict[str, Any]]) -> None:
    chained = [dict(n) for n in nodes]
    for a, b in zip(chained, chained[1:], strict=False):
        a["next"] = b["id"]
    with local.admin_client() as api:
        r = api.post("/pipelines/", json={"name": name, "config": {"version": "1.0", "nodes": chained}})
    assert r.status_code in (200, 201), r.text


def outbox_for(local: Stack, run_id: str) -> list[dict[str, Any]]:
    """The notifications the run delivered to the local outbox, in order."""
    if not local.outbox.exists():
        return []
    lines = [json.loads(x) for x in local.outbox.read_text().splitlines() if x.strip()]
    return [m for m in lines if m["tags"]["run_id"] == run_id]
