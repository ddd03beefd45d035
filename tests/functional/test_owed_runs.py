"""Owed runs through the whole local stack in this process (real HTTP, the
real ASL in moto, the template's handlers and schedules): a StartExecution
fault injected at the AWS client boundary, the sender's retry, and the
reconciler fired by the template's schedule timer."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from inprocess import local_in_process

from invariants import assert_invariants, from_api
from support import ADMIN_TOKEN, WEBHOOK_TOKEN

pytestmark = pytest.mark.slow


class Harness:
    def __init__(self, stack: Any, url: str, outbox: Path) -> None:
        self.stack, self.url, self.outbox = stack, url, outbox
        self.sender = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"}, timeout=30)
        self.admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
        self.start_failures = 0  # StartExecution calls left to fail

    def fail_start_execution(self, times: int) -> None:
        """A fault at the AWS boundary: StartExecution answers ServiceUnavailable ``times`` times."""
        from signalfire import services

        self.start_failures = times

        def hook(**_: Any) -> None:
            if self.start_failures > 0:
                self.start_failures -= 1
                raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}, "StartExecution")

        services.launcher().sfn.meta.events.register("before-call.sfn.StartExecution", hook)

    def run(self, run_id: str) -> dict[str, Any]:
        return self.admin.get(f"/runs/{run_id}/").raise_for_status().json()["run"]

    def wait_done(self, run_id: str, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["outcome"]:
                return run
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} did not finish: {self.run(run_id)}")

    def notifications(self, run_id: str) -> list[dict[str, Any]]:
        if not self.outbox.exists():
            return []
        lines = [json.loads(x) for x in self.outbox.read_text().splitlines() if x.strip()]
        return [m for m in lines if m.get("tags", {}).get("run_id") == run_id]

    def runs(self) -> list[dict[str, Any]]:
        return self.admin.get("/runs/", params={"limit": 200}).raise_for_status().json()["items"]


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Harness]:
    with local_in_process(tmp_path, "StageRetryIntervalSeconds=1", "StageBackoffRate=1") as stack:
        yield Harness(stack.stack, stack.url, stack.outbox)


ALERT = {"name": "DiskFull", "fingerprint": "disk-web-1", "severity": "critical", "labels": {"host": "web-1"}}


def test_start_execution_fails_once_then_the_senders_retry_gives_one_run_and_one_notification(local):
    local.fail_start_execution(1)
    first = local.sender.post("/alerts/webhook/", json=ALERT)
    assert first.status_code == 503, first.text
    assert first.json()["error"] == "RunStartError"
    [owed] = local.runs()
    assert owed["status"] == "PENDING" and owed["trigger"] == "created"
    assert_invariants(from_api(local.admin))  # stored, and the run is recorded as owed

    retry = local.sender.post("/alerts/webhook/", json=ALERT)
    assert retry.status_code == 202, retry.text
    body = retry.json()
    assert body["alerts_unchanged"] == 1 and body["run_ids"] == [owed["run_id"]]
    done = local.wait_done(owed["run_id"])
    assert done["status"] == "NOTIFIED" and done["outcome"] == "COMPLETED"
    assert len(local.runs()) == 1
    assert len(local.notifications(owed["run_id"])) == 1

    third = local.sender.post("/alerts/webhook/", json=ALERT).json()
    assert third["run_ids"] == [] and third["alerts_unchanged"] == 1  # nothing owed any more: no new run
    assert len(local.runs()) == 1
    assert_invariants(from_api(local.admin), settled=True)


def test_the_reconciler_on_its_template_schedule_starts_owed_runs_and_recovers_a_run_left_at_ingested(local):
    from datetime import timedelta

    from signalfire import services
    from signalfire.timeutil import iso, utcnow
    from signalfire_local.schedules import ScheduleTimers, template_schedules

    local.fail_start_execution(2)
    assert local.sender.post("/alerts/webhook/", json=ALERT).status_code == 503
    other = {**ALERT, "name": "CPUHigh", "fingerprint": "cpu-web-1"}
    assert local.sender.post("/alerts/webhook/", json=other).status_code == 503
    stuck, owed = sorted(local.runs(), key=lambda r: r["alert_fingerprint"])[::-1]
    assert (stuck["alert_fingerprint"], owed["alert_fingerprint"]) == ("disk-web-1", "cpu-web-1")
    # One is left at INGESTED with no execution (what a start that died after marking it leaves),
    # twenty minutes ago; the other is owed (PENDING) since a minute ago.  No sender retries.
    runs = services.run_store()
    old = iso(utcnow() - timedelta(minutes=20))
    runs.update_run(stuck["run_id"], {"status": "INGESTED"})
    services.table().update(f"RUN#{stuck['run_id']}", "META", "SET updated_at = :t", values={":t": old})
    services.table().update(f"RUN#{owed['run_id']}", "META", "SET created_at = :t",
                            values={":t": iso(utcnow() - timedelta(minutes=1))})

    schedules = [s for s in template_schedules(local.stack.template) if s.function == "ReconcileFunction"]
    assert [(s.event, s.expression) for s in schedules] == [("Reconcile", "rate(1 minute)")]
    timers = ScheduleTimers(schedules, local.stack.invoke, every=0.5, log=lambda line: None).start()
    try:
        recovered = local.wait_done(stuck["run_id"])
        started = local.wait_done(owed["run_id"])
    finally:
        timers.stop()
    assert timers.fired["ReconcileFunction.Reconcile"] >= 1
    assert recovered["status"] == "NOTIFIED" and recovered["outcome"] == "COMPLETED"
    assert started["status"] == "NOTIFIED" and started["outcome"] == "COMPLETED"
    assert len(local.notifications(stuck["run_id"])) == 1
    assert len(local.notifications(owed["run_id"])) == 1
    assert len(local.runs()) == 2
    # finished by the ASL's own MarkCompleted: out of the open-runs index the reconciler reads
    assert services.run_store().open_runs() == []
    assert_invariants(from_api(local.admin), settled=True)


def test_a_stalled_run_is_failed_with_the_reason_and_can_then_be_resumed(local):
    from datetime import timedelta

    from signalfire import services
    from signalfire.timeutil import iso, utcnow

    local.fail_start_execution(1)
    assert local.sender.post("/alerts/webhook/", json=ALERT).status_code == 503
    [run] = local.runs()
    # It reached CHECKED under an execution that no longer runs (died outside our code).
    services.run_store().update_run(run["run_id"], {"status": "CHECKED", "current_index": 0,
                                                    "execution_name": f"{run['run_id']}-gone"})
    services.table().update(f"RUN#{run['run_id']}", "META", "SET updated_at = :t",
                            values={":t": iso(utcnow() - timedelta(minutes=20))})
    report = local.stack.invoke("ReconcileFunction", {"detail-type": "Scheduled Event", "source": "aws.events"})
    assert report["failed"] == [run["run_id"]]
    failed = local.run(run["run_id"])
    assert failed["status"] == "FAILED" and failed["last_error_type"] == "RunStalled"
    assert "no progress" in failed["last_error_message"] and "never started" in failed["last_error_message"]
    assert services.run_store().open_runs() == [], "a failed run is closed: the reconciler no longer reads it"
    resumed = local.admin.post(f"/runs/{run['run_id']}/resume/")
    assert resumed.status_code == 202, resumed.text
    done = local.wait_done(run["run_id"])
    assert done["status"] == "NOTIFIED" and len(local.notifications(run["run_id"])) == 1
    assert services.run_store().open_runs() == []


def test_the_reconciler_reads_the_open_runs_not_the_history(moto_stack, dynamodb_calls):
    """A finished run leaves the sparse open-runs index (GSI4): a pass costs one
    Query and a GetItem per open run, however many runs were ever made (it read
    every NOTIFIED run each minute, and held the local stack's API up for it)."""
    from handler_calls import webhook
    from signalfire import services

    runs = services.run_store()
    ids = [webhook({**ALERT, "fingerprint": f"f{i}", "name": f"A{i}"}).json["run_ids"][0] for i in range(6)]
    assert runs.open_runs() == ids, "open from birth (the webhook's transaction), oldest first"
    for run_id in ids[:5]:
        runs.update_run(run_id, {"status": "NOTIFIED", "outcome": "COMPLETED"})
    item = services.table().get(f"RUN#{ids[0]}", "META")
    assert item is not None and "GSI4PK" not in item and "GSI4SK" not in item
    dynamodb_calls.reset()
    assert services.reconciler().reconcile().failed == []
    assert sorted(dynamodb_calls.calls) == ["GetItem", "Query"], dynamodb_calls.calls
    # a resume clears the outcome: open again, at its place in the order
    runs.update_run(ids[2], {"status": "RETRYING", "outcome": ""})
    assert runs.open_runs() == [ids[2], ids[5]]
    reopened = services.table().get(f"RUN#{ids[2]}", "META")
    assert reopened is not None and reopened["GSI4SK"] == reopened["GSI1SK"]


def test_a_hung_execution_is_stopped_and_its_run_failed_with_the_reason(moto_stack):
    """In this fixture moto records executions but never runs them: a run whose
    execution hangs RUNNING past RunDeadlineSeconds."""
    from datetime import timedelta

    import boto3

    from handler_calls import webhook
    from signalfire import services
    from signalfire.timeutil import iso, utcnow

    [run_id] = webhook(ALERT).json["run_ids"]
    services.table().update(f"RUN#{run_id}", "META", "SET updated_at = :t",
                            values={":t": iso(utcnow() - timedelta(minutes=20))})
    report = services.reconciler().reconcile()
    assert report.failed == [run_id] and report.restarted == []
    run = services.run_store().get_run(run_id)
    assert run.status == "FAILED" and run.last_error_type == "RunStalled" and run.last_error_retryable
    assert "execution RUNNING" in run.last_error_message
    arn = moto_stack["state_machine"].replace(":stateMachine:", ":execution:") + f":{run_id}"
    assert boto3.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "ABORTED"
    # a healthy run (recent update) is left alone
    [fresh] = webhook({**ALERT, "fingerprint": "other", "name": "Other"}).json["run_ids"]
    assert services.reconciler().reconcile().failed == []
    assert services.run_store().get_run(fresh).status == "INGESTED"


def test_a_restart_of_signalfire_local_leaves_owed_runs_owed(moto_stack):
    """--data-dir marks runs in flight at the last stop INTERRUPTED; an owed run
    never started, so it stays PENDING for the reconciler."""
    from signalfire import services
    from signalfire.runs.models import PipelineRun, RunStatus
    from signalfire.runs.resume import mark_interrupted
    from signalfire.timeutil import utcnow

    runs = services.run_store()
    now = utcnow()
    for run_id, status in (("run_owed", RunStatus.PENDING), ("run_going", RunStatus.CHECKED)):
        runs.create_run(PipelineRun(run_id=run_id, trace_id="tr", status=status, trigger="created",
                                    created_at=now, updated_at=now))
    assert mark_interrupted(runs, "run_owed", "stopped") is False
    assert runs.get_run("run_owed").status == RunStatus.PENDING
    assert mark_interrupted(runs, "run_going", "stopped") is True
    assert runs.get_run("run_going").status == RunStatus.FAILED
