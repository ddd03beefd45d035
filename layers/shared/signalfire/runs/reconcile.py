"""The reconciler: nothing owed is left unstarted, nothing stuck stays stuck.

Run by an EventBridge schedule (template.yaml ``ReconcileFunction``; ``signalfire
local`` fires it on a timer) and, for one run, by ``POST /runs/{id}/resume``.

* **Owed runs** (PENDING, older than a short grace so the webhook that wrote
  them can start them itself) are started through the launcher: the same claim
  and the same execution name, so the reconciler and a redelivery can never
  both start one.
* **Stalled runs** (INGESTED/CHECKED/ANALYZED/NOTIFIED/RETRYING with no
  outcome and no update for RunDeadlineSeconds): the execution is looked up.
  Never started (no execution by that name) and never resumed: it is
  **restarted** from its first stage.  Otherwise a still RUNNING execution is
  stopped, and the run is **failed with the reason** (``RunStalled``), from
  where ``POST /runs/{id}/resume`` continues it at the stage it reached.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from signalfire.errors import NotFoundError, RunStalled, RunStartError, SignalfireError
from signalfire.models import Model
from signalfire.observability import logger
from signalfire.runs.launcher import RunLauncher
from signalfire.runs.models import PipelineRun, RunStatus
from signalfire.store.exceptions import ConditionFailed
from signalfire.timeutil import iso, utcnow

IN_PROGRESS = (RunStatus.INGESTED, RunStatus.CHECKED, RunStatus.ANALYZED, RunStatus.NOTIFIED, RunStatus.RETRYING)
#: An owed run younger than this is left to the webhook that is starting it.
GRACE = timedelta(seconds=30)


class ReconcileReport(Model):
    owed_started: list[str] = []
    owed_failed: list[str] = []
    restarted: list[str] = []
    failed: list[str] = []


def execution_name(run: PipelineRun) -> str:
    if run.execution_name:
        return run.execution_name
    return f"{run.run_id}-resume-{run.resume_count}" if run.resume_count else run.run_id


def is_stalled(run: PipelineRun, deadline_seconds: int) -> bool:
    return (run.status in IN_PROGRESS and not run.outcome
            and utcnow() - run.updated_at >= timedelta(seconds=deadline_seconds))


class Reconciler:
    def __init__(self, launcher: RunLauncher) -> None:
        self.launcher = launcher
        self.runs = launcher.runs
        self.deadline = launcher.settings.run_deadline_seconds

    def reconcile(self) -> ReconcileReport:
        """One pass over the open runs (the sparse open-runs index: what has
        no outcome yet), never the history: its cost follows the runs in
        flight, not the runs ever made."""
        report = ReconcileReport()
        now = utcnow()
        for run_id in self.runs.open_runs():
            try:
                run = self.runs.get_run(run_id)
            except NotFoundError:  # expired (TTL) between the two reads
                continue
            if run.status == RunStatus.PENDING:
                if now - run.created_at < GRACE:
                    continue
                try:
                    if self.launcher.start_owed(run.run_id):
                        report.owed_started.append(run.run_id)
                except (RunStartError, SignalfireError) as exc:
                    logger.warning("an owed run could not start; next pass", extra={"run_id": run.run_id,
                                                                                      "error": str(exc)})
                    report.owed_failed.append(run.run_id)
            elif is_stalled(run, self.deadline):
                if self.recover(run) == "restarted":
                    report.restarted.append(run.run_id)
                else:
                    report.failed.append(run.run_id)
        logger.info("reconciled runs", extra=report.model_dump())
        return report

    # -- one stalled run -------------------------------------------------------------------

    def execution_status(self, run: PipelineRun) -> str | None:
        """The Step Functions status of the run's current execution; None if there is none."""
        arn = self.launcher.settings.state_machine_arn.replace(":stateMachine:", ":execution:")
        try:
            found = self.launcher.sfn.describe_execution(executionArn=f"{arn}:{execution_name(run)}")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return None
            raise
        return str(found.get("status"))

    def recover(self, run: PipelineRun) -> str:
        """Restart a run whose execution never started; stop and fail the others
        with the reason.  Returns "restarted" or "failed"."""
        try:
            state = self.execution_status(run)
        except (ClientError, BotoCoreError) as exc:
            state = f"unknown ({type(exc).__name__})"
        if state is None and run.status == RunStatus.INGESTED and run.resume_count == 0:
            try:
                self.runs.update_run(run.run_id, {"restarted_at": iso(utcnow())},
                                     condition="updated_at = :seen", values={":seen": iso(run.updated_at)})
            except ConditionFailed:
                return "restarted"  # it moved meanwhile (or another pass restarted it)
            try:
                self.launcher.start_execution(run, 0, run.run_id)
                return "restarted"
            except RunStartError:
                state = "never started (StartExecution failed again)"
        reason = (f"no progress for {self.deadline} s at {run.status.value}"
                  f" (stage {run.current_stage or 'INGEST'}); execution {state or 'never started'}")
        if state == "RUNNING":
            with contextlib.suppress(ClientError, BotoCoreError):
                arn = self.launcher.settings.state_machine_arn.replace(":stateMachine:", ":execution:")
                self.launcher.sfn.stop_execution(executionArn=f"{arn}:{execution_name(run)}",
                                                 error=RunStalled.__name__, cause=reason)
        fields: dict[str, Any] = {
            "status": RunStatus.FAILED.value, "outcome": "FAILED", "last_error_type": RunStalled.__name__,
            "last_error_message": reason, "last_error_retryable": True,
            "failed_index": run.current_index or 0, "completed_at": iso(utcnow()),
        }
        with contextlib.suppress(ConditionFailed):
            self.runs.update_run(run.run_id, fields, condition="updated_at = :seen",
                                 values={":seen": iso(run.updated_at)})
        logger.warning("stalled run failed", extra={"run_id": run.run_id, "reason": reason})
        return "failed"
