"""Starting the runs that alert changes owe.

Ingest decides that a run is owed (an incident created, escalated or
resolved) and writes its run record in the same transaction as the alert
change (docs/reliability.md).  A webhook's own runs are born INGESTED, with
their pipeline: the webhook records the ingest stage and calls StartExecution
named by the run id (a repeat is refused by Step Functions, so a run never
runs twice), and writes nothing else.  When StartExecution fails such a run
becomes owed (PENDING, listed on its alert) and the webhook answers 503: the
sender's retry, or the reconciler (runs/reconcile.py), starts it.  An owed
run is started by claiming it (a short lease, so two starters never both
start it), filling in the pipeline, StartExecution, then marking it INGESTED.
An alert that arrives again unchanged owes nothing new, so it starts
nothing: the cost of a repeat stays one read.
"""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from signalfire import aws
from signalfire.alerts.ingest import BornRun, IngestOutcome, RunPlan
from signalfire.alerts.store import AlertStore
from signalfire.errors import RunStartError, SignalfireError, StoreUnavailableError
from signalfire.ids import new_id
from signalfire.observability import logger
from signalfire.pipelines.budget import check_runnable
from signalfire.pipelines.compile import execution_input, resolve_fallback
from signalfire.pipelines.models import PipelineDefinition
from signalfire.pipelines.resolve import load_definition, resolve_pipeline_name
from signalfire.pipelines.store import PipelineStore
from signalfire.runs import signals
from signalfire.runs.models import PipelineRun, RunStatus, StageExecution, StageStatus
from signalfire.runs.store import RunStore
from signalfire.settings import Settings
from signalfire.store.exceptions import ConditionFailed
from signalfire.timeutil import iso, utcnow

#: the built-in one-node pipeline an acknowledgement or resolution through the API runs
INCIDENT_UPDATE_PIPELINE = "incident-update"
INCIDENT_UPDATE_NODES = ({"id": "notify", "type": "notify", "config": {}},)
#: How long a starter holds an owed run before another may try.
CLAIM = timedelta(seconds=60)


class RunLauncher:
    def __init__(self, runs: RunStore, pipelines: PipelineStore, settings: Settings, alerts: AlertStore,
                 sfn_client: Any | None = None) -> None:
        self.runs = runs
        self.alerts = alerts
        self.pipelines = pipelines
        self.settings = settings
        self._sfn = sfn_client

    @property
    def sfn(self) -> Any:
        if self._sfn is None:
            self._sfn = aws.client("stepfunctions")
        return self._sfn

    def _load(self, name: str) -> tuple[PipelineDefinition, list[dict[str, Any]]]:
        """The pipeline ``name`` as a run would run it; ConfigurationError when
        it is inactive or its worst case does not fit this deployment's
        workflow (an Express execution stops at 5 minutes: the presets with
        analysis never fit it, and nothing else refuses them, since they are
        never saved)."""
        definition, nodes = load_definition(name, self.pipelines)
        check_runnable(definition.name, nodes, self.settings.workflow_limits())
        return definition, nodes

    def pipeline_for(self, source: str, query_pipeline: str | None) -> str:
        """The name of the pipeline a webhook's runs will run; refuses an unknown
        or inactive one, or one that cannot run on this deployment's workflow
        (before anything is stored: the sender hears why, the body is kept)."""
        return self.plan_for(source, query_pipeline).pipeline_name

    def plan_for(self, source: str, query_pipeline: str | None) -> RunPlan:
        """:meth:`pipeline_for`, with what the runs are born with when the
        webhook starts them itself (:meth:`start_for` right after ingest): the
        pipeline's fields, written in the alert's transaction with the run,
        which is born INGESTED."""
        definition, nodes = self._load(resolve_pipeline_name(source, query_pipeline, self.settings))
        return RunPlan(pipeline_name=definition.name, fields=self._pipeline_fields(definition, nodes))

    def _pipeline_fields(self, definition: PipelineDefinition, nodes: list[dict[str, Any]]) -> dict[str, Any]:
        return {"pipeline_name": definition.name, "pipeline_version": definition.version,
                "nodes": resolve_fallback(nodes, self.settings.intelligence_fallback_enabled),
                "max_retries": self.settings.max_retries_per_stage, "environment": self.settings.environment}

    def validate(self, source: str, query_pipeline: str | None) -> None:
        self.pipeline_for(source, query_pipeline)

    def start_for(self, outcome: IngestOutcome) -> list[str]:
        """Start the runs ``outcome`` was born with and every run its alerts owe
        (any an earlier delivery left owed); returns their ids ([] for an
        unchanged repeat that owes nothing).  RunStartError (503) when one could
        not start: it is (or stays) owed, and the sender's retry starts it."""
        started: list[str] = []
        failed: list[RunStartError] = []
        for born in outcome.born:
            try:
                self._launch_born(born.run, outcome)
                started.append(born.run.run_id)
            except RunStartError as exc:
                failed.append(exc)
                self._owe(born)
            except StoreUnavailableError:  # its ingest record not written (throttled): owed, the retry starts it
                self._owe(born)
                raise
        for owed in outcome.owed:
            done = True
            for run_id in owed.run_ids:
                try:
                    if not self.start_owed(run_id, outcome):
                        done = False  # another starter holds its lease: owed until it is started
                    started.append(run_id)
                except RunStartError as exc:
                    failed.append(exc)
                    done = False
            if done:
                self.alerts.clear_owed_runs(owed.alert_id, owed.version)
        if failed:
            raise RunStartError(f"{len(failed)} pipeline run(s) could not start and are kept owed: "
                                f"{failed[0].message}; retry the webhook")
        return list(dict.fromkeys(started))

    def _owe(self, born: BornRun) -> None:
        """A run born INGESTED whose StartExecution failed: make it owed (PENDING,
        unclaimed, listed on its alert) so the sender's retry starts it.  If its
        execution has moved it on meanwhile (the call failed after it started),
        it is not owed."""
        try:
            self.runs.update_run(born.run.run_id, {"status": RunStatus.PENDING.value, "claimed_until": ""},
                                 condition="#st = :ingested AND attribute_not_exists(started_at)",
                                 names={"#st": "status"}, values={":ingested": RunStatus.INGESTED.value})
        except ConditionFailed:
            return
        self.alerts.owe_runs(born.alert_id, [born.run.run_id])

    def start_owed(self, run_id: str, outcome: IngestOutcome | None = None) -> bool:
        """Start the owed (PENDING) run ``run_id``.  True when it is started
        (now or before); False when another starter holds its lease.

        A run this webhook's own transaction just wrote (``outcome.written``)
        is not read back: it is PENDING as written.  The run is claimed here,
        conditionally, with its pipeline filled in, and a lost claim means
        another starter has it."""
        run = outcome.written.get(run_id) if outcome is not None else None
        if run is None:  # owed by an earlier delivery, or the reconciler / resume asking
            run = self.runs.get_run(run_id)
            if run.status != RunStatus.PENDING:
                return True
        try:
            name = run.pipeline_name or resolve_pipeline_name(run.source, None, self.settings)
            definition, nodes = self._load(name)
        except SignalfireError as exc:
            if exc.retryable:
                raise
            # The pipeline was deleted or deactivated since, or it cannot run on this
            # workflow (a check-in's alert, no sender to answer): this run can never start.
            self._fail(run, exc, 0, pipeline_name=name)
            return True
        fields: dict[str, Any] = {**self._pipeline_fields(definition, nodes),
                                  "normalized_payload_ref": self.runs.output_ref(run_id, -1, "ingest")}
        now = utcnow()
        try:  # the claim and the pipeline in one write
            self.runs.update_run(run_id, {**fields, "claimed_until": iso(now + CLAIM)},
                                 condition="#st = :pending AND (attribute_not_exists(claimed_until) "
                                           "OR claimed_until < :now)",
                                 names={"#st": "status"}, values={":pending": "PENDING", ":now": iso(now)})
        except ConditionFailed:
            return False
        return self._launch(run.model_copy(update=fields), outcome)

    def _launch_born(self, run: PipelineRun, outcome: IngestOutcome | None) -> None:
        """A run born INGESTED (no claim, nothing to mark): record the ingest
        stage, then StartExecution."""
        self._record_ingest(run, outcome)
        self.start_execution(run, 0, run.run_id)

    def _launch(self, run: PipelineRun, outcome: IngestOutcome | None) -> bool:
        """The claimed run ``run``: record the ingest stage, StartExecution, then
        mark it INGESTED.  On RunStartError the claim is released first."""
        try:
            self._launch_born(run, outcome)
        except RunStartError:
            self.runs.update_run(run.run_id, {"claimed_until": ""})  # let the next starter try at once
            raise
        with contextlib.suppress(ConditionFailed):  # the execution may have moved it on already
            self.runs.update_run(run.run_id, {"status": RunStatus.INGESTED.value}, condition="#st = :pending",
                                 names={"#st": "status"}, values={":pending": "PENDING"})
        return True

    def start_incident_update(self, incident_id: str, trigger: str, source: str = "api") -> str:
        """Start a run that tells the channels which received an incident's
        firing that a person acknowledged or resolved it (PagerDuty gets
        ``acknowledge`` / ``resolve`` with the trigger's dedup_key).  One notify
        node; the notify stage picks the channels from the firing's records."""
        now = utcnow()
        run = PipelineRun(
            run_id=new_id("run"), trace_id=logger.get_correlation_id() or new_id("tr"), status=RunStatus.INGESTED,
            incident_id=incident_id, source=source, environment=self.settings.environment, trigger=trigger,
            pipeline_name=INCIDENT_UPDATE_PIPELINE, pipeline_version=1, nodes=list(INCIDENT_UPDATE_NODES),
            max_retries=self.settings.max_retries_per_stage, current_stage="INGEST", created_at=now, updated_at=now)
        self.runs.create_run(run)
        try:
            check_runnable(INCIDENT_UPDATE_PIPELINE, run.nodes, self.settings.workflow_limits())
        except SignalfireError as exc:  # e.g. Express with a large StageMaxRetries: recorded, never started
            self._fail(run, exc, 0)
            return run.run_id
        try:
            self.start_execution(run, 0, run.run_id)
        except RunStartError:
            # The person's action stands; the run waits at INGESTED with no execution,
            # which the reconciler restarts (runs/reconcile.py).
            logger.warning("incident update run not started; the reconciler will", extra={"run_id": run.run_id})
        return run.run_id

    def _fail(self, run: PipelineRun, exc: SignalfireError, index: int, **fields: Any) -> None:
        self.runs.update_run(run.run_id, {**fields, "status": RunStatus.FAILED.value, "outcome": "FAILED",
                                          "last_error_type": type(exc).__name__,
                                          "last_error_message": exc.message[:2000],
                                          "last_error_retryable": exc.retryable, "failed_index": index,
                                          "completed_at": iso(utcnow())})

    def _record_ingest(self, run: PipelineRun, outcome: IngestOutcome | None) -> None:
        """The ingest stage happened in the webhook: record it like the others
        (seed: IngestResult), and keep its normalised result as the run's
        ``normalized_payload_ref``.  A run started later (by the reconciler)
        records what its own record says."""
        result: dict[str, Any] = {"incident_id": run.incident_id, "alert_fingerprint": run.alert_fingerprint,
                                  "source": run.source, "trigger": run.trigger}
        if outcome is not None:
            result.update(outcome.result.model_dump())
            result["alerts"] = [a.model_dump(mode="json") for a in outcome.alerts if a.incident_id == run.incident_id]
        now = utcnow()
        stage = StageExecution(
            run_id=run.run_id, trace_id=run.trace_id, index=-1, node_id="ingest", node_type="ingest", stage="INGEST",
            status=StageStatus.SUCCEEDED, attempt=1, idempotency_key=f"{run.run_id}:ingest:1",
            output_ref=self.runs.output_ref(run.run_id, -1, "ingest"),
            output_snapshot={k: v for k, v in result.items() if k != "alerts"}, started_at=run.created_at,
            completed_at=now, duration_ms=round((now - run.created_at).total_seconds() * 1000, 1))
        self.runs.put_output(run.run_id, -1, "ingest", "ingest", result, stage=stage)  # one BatchWriteItem

    def start_execution(self, run: PipelineRun, index: int, name: str,
                        outputs: dict[str, str] | None = None) -> None:
        """StartExecution for ``run`` from node ``index``; ``outputs`` are the
        refs of the nodes before it (a resume).  The execution name is the run
        id (or ``<run_id>-resume-<n>``), so a repeated start is refused by Step
        Functions instead of running twice."""
        payload = execution_input(run.run_id, run.trace_id, run.incident_id, run.pipeline_name,
                                  run.pipeline_version, run.nodes, start_index=index, outputs=outputs)
        tags = signals.SignalTags(trace_id=run.trace_id, run_id=run.run_id, stage="INGEST",
                                  incident_id=run.incident_id, source=run.source,
                                  alert_fingerprint=run.alert_fingerprint, environment=run.environment)
        try:
            self.sfn.start_execution(stateMachineArn=self.settings.state_machine_arn, name=name,
                                     input=json.dumps(payload))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return  # started before (a lost answer, or another starter): never twice
            logger.exception("could not start a pipeline run", extra={"run_id": run.run_id})
            raise RunStartError(f"StartExecution failed for run {run.run_id}: "
                                f"{exc.response.get('Error', {}).get('Code', 'error')}") from exc
        except BotoCoreError as exc:
            logger.exception("could not start a pipeline run", extra={"run_id": run.run_id})
            raise RunStartError(f"StartExecution failed for run {run.run_id}: {type(exc).__name__}") from exc
        signals.emit(signals.PIPELINE_STARTED, tags, pipeline=run.pipeline_name, start_index=index)
