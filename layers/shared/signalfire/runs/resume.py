"""Resume a failed run from its failed stage (seed: resume_pipeline).

A new execution of the same state machine starts at the failed node's
index, carrying the output references of the nodes before it (the claim
checks they stored), so the later stages read them as if the run had never
stopped.  Notifications already delivered are not delivered again: each
delivery is recorded per (run, node, channel) (runs/dynamo.py DELIVERY items)
and the notify stage skips channels found there.

This works the same for Standard and Express workflows and in moto: it does
not use Step Functions redrive (Express has none, nor does moto).
"""

from __future__ import annotations

from signalfire.errors import ConflictError, RunStartError
from signalfire.pipelines.budget import check_runnable
from signalfire.runs.launcher import RunLauncher
from signalfire.runs.models import PipelineRun, RunStatus, StageStatus
from signalfire.runs.store import RunStore
from signalfire.store.exceptions import ConditionFailed
from signalfire.timeutil import iso, utcnow


def resume_run(run_id: str, launcher: RunLauncher) -> PipelineRun:
    """Resume the run ``run_id``; returns the run (now RETRYING).

    A FAILED run continues at its failed stage.  An owed (PENDING) run is
    started.  A run with no progress for RunDeadlineSeconds is first recorded
    as failed (``RunStalled``, the reason in ``last_error_message``; a run
    whose execution never started is restarted instead), then resumed.
    ConflictError (409) for anything else, or when another resume won the race.
    """
    from signalfire.runs.reconcile import Reconciler, is_stalled

    runs = launcher.runs
    run = runs.get_run(run_id)
    deadline = launcher.settings.run_deadline_seconds
    if run.status == RunStatus.PENDING:  # owed and never started: start it now
        if not launcher.start_owed(run_id):
            raise ConflictError(f"run {run_id} is being started already")
        return runs.get_run(run_id)
    if is_stalled(run, deadline):  # no progress within its deadline: record why, then resume
        Reconciler(launcher).recover(run)
        run = runs.get_run(run_id)
        if run.status != RunStatus.FAILED:  # it was restarted from its first stage
            return run
    if run.status != RunStatus.FAILED:
        raise ConflictError(
            f"run {run_id} is {run.status.value}: FAILED runs, owed (PENDING) runs and runs with no progress "
            f"for {deadline} s (RunDeadlineSeconds) can be resumed",
            details={"status": run.status.value})
    index = run.failed_index if run.failed_index is not None else 0
    before = {str(n.get("id", "")) for n in run.nodes[:index]}
    outputs = {node: ref for node, ref in runs.output_refs(run_id).items() if node in before}
    base: dict[str, int] = {}
    for stage in runs.stages(run_id):
        if stage.index >= index and not stage.fallback:
            base[stage.node_id] = max(base.get(stage.node_id, 0), stage.attempt)
    # What is left must fit this deployment's workflow (a run that failed under
    # Standard may be resumed after a switch to Express): a 400, nothing changed.
    check_runnable(run.pipeline_name, run.nodes[index:], launcher.settings.workflow_limits())
    attempt = run.resume_count + 1
    try:
        runs.update_run(run_id, {"status": RunStatus.RETRYING.value, "outcome": "", "completed_at": "",
                                 "resume_count": attempt, "attempt_base": base},
                        condition="#cur = :failed AND resume_count = :prev",
                        names={"#cur": "status"}, values={":failed": "FAILED", ":prev": run.resume_count})
    except ConditionFailed:
        raise ConflictError(f"run {run_id} is being resumed already") from None
    try:
        launcher.start_execution(run, index, name=f"{run_id}-resume-{attempt}", outputs=outputs)
    except RunStartError as exc:
        runs.update_run(run_id, {"status": RunStatus.FAILED.value, "outcome": "FAILED",
                                 "last_error_type": type(exc).__name__, "last_error_message": exc.message})
        raise
    return runs.get_run(run_id)


#: ``outcome`` of a run whose execution stopped with the process that ran it
#: (`signalfire local` restarted with --data-dir); the run is FAILED, so it
#: can be resumed from the node it was in.
INTERRUPTED = "INTERRUPTED"


def mark_interrupted(runs: RunStore, run_id: str, reason: str) -> bool:
    """Record that run ``run_id``'s execution is gone (its process stopped
    while it ran): the run becomes FAILED with outcome INTERRUPTED at the
    node it was in, and a stage left RUNNING is recorded as failed with it.
    Returns False (and changes nothing) when the run had already ended, or
    was only owed (PENDING: the reconciler starts it, docs/reliability.md)."""
    run = runs.get_run(run_id)
    if run.outcome or run.status in (RunStatus.FAILED, RunStatus.SKIPPED):
        return False
    if run.status == RunStatus.PENDING:
        return False  # owed, never started: nothing was interrupted; the reconciler starts it
    index = run.current_index if run.current_index is not None else 0
    now = utcnow()
    for stage in runs.stages(run_id):
        if stage.status == StageStatus.RUNNING:
            runs.put_stage(stage.model_copy(update={
                "status": StageStatus.FAILED, "error_type": "Interrupted", "error_message": reason,
                "error_retryable": True, "completed_at": now}))
    try:
        runs.update_run(run_id, {"status": RunStatus.FAILED.value, "outcome": INTERRUPTED, "failed_index": index,
                                 "last_error_type": "Interrupted", "last_error_message": reason,
                                 "last_error_retryable": True, "completed_at": iso(now)},
                        condition="attribute_exists(PK) AND (attribute_not_exists(outcome) OR outcome = :none)",
                        values={":none": ""})
    except ConditionFailed:
        return False
    return True
