"""Resume a failed run from its failed stage (seed: resume_pipeline).

A new execution of the same state machine starts at the failed node's
index; the outputs of the nodes before it are already stored, so the later
stages read them as if the run had never stopped, and notifications already
delivered are not delivered again (runs/store.py: DELIVERY items).  This
works the same for Standard and Express workflows: it needs no redrive.
"""

from __future__ import annotations

from signalfire.errors import ConflictError
from signalfire.runs.launcher import RunLauncher
from signalfire.runs.models import PipelineRun, RunStatus
from signalfire.store.exceptions import ConditionFailed


def resume_run(launcher: RunLauncher, run_id: str) -> PipelineRun:
    runs = launcher.runs
    run = runs.get_run(run_id)
    if run.status != RunStatus.FAILED:
        raise ConflictError(f"only FAILED runs can be resumed; run {run_id} is {run.status.value}",
                            details={"status": run.status.value})
    index = run.failed_index if run.failed_index is not None else 0
    attempt = run.resume_count + 1
    try:
        runs.update_run(run_id, {"status": RunStatus.RETRYING.value, "outcome": "", "completed_at": "",
                                 "resume_count": attempt},
                        condition="#cur = :failed AND resume_count = :prev",
                        names={"#cur": "status"}, values={":failed": "FAILED", ":prev": run.resume_count})
    except ConditionFailed:
        raise ConflictError(f"run {run_id} is being resumed already") from None
    launcher.start_execution(run, index, name=f"{run_id}-resume-{attempt}")
    return runs.get_run(run_id)
