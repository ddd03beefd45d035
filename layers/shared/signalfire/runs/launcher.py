"""Deciding which webhooks start a pipeline run, and starting it.

A run starts for each incident that the webhook created, escalated or
resolved.  An alert that arrived again unchanged changes no incident, so it
starts nothing: the cost of a repeat stays one read.
"""

from __future__ import annotations

import json
from typing import Any

from signalfire import aws
from signalfire.alerts.ingest import IncidentEvent, IngestOutcome
from signalfire.ids import new_id
from signalfire.observability import logger
from signalfire.pipelines.compile import execution_input
from signalfire.pipelines.resolve import load_definition, resolve_pipeline_name
from signalfire.pipelines.store import PipelineStore
from signalfire.runs import signals
from signalfire.runs.models import PipelineRun, RunStatus, StageExecution, StageStatus
from signalfire.runs.store import RunStore
from signalfire.settings import Settings
from signalfire.timeutil import utcnow

TRIGGERS = {IncidentEvent.CREATED, IncidentEvent.ESCALATED, IncidentEvent.RESOLVED}
#: the built-in one-node pipeline an acknowledgement or resolution through the API runs
INCIDENT_UPDATE_PIPELINE = "incident-update"
INCIDENT_UPDATE_NODES = ({"id": "notify", "type": "notify", "config": {}},)


class RunLauncher:
    def __init__(self, runs: RunStore, pipelines: PipelineStore, settings: Settings,
                 sfn_client: Any | None = None) -> None:
        self.runs = runs
        self.pipelines = pipelines
        self.settings = settings
        self._sfn = sfn_client

    @property
    def sfn(self) -> Any:
        if self._sfn is None:
            self._sfn = aws.client("stepfunctions")
        return self._sfn

    def validate(self, source: str, query_pipeline: str | None) -> None:
        """Fail fast (before anything is stored) on an unknown or inactive pipeline."""
        load_definition(resolve_pipeline_name(source, query_pipeline, self.settings), self.pipelines)

    def start_for(self, outcome: IngestOutcome, pipeline_name: str | None = None) -> list[str]:
        """Start one run per incident the webhook created, escalated or resolved;
        returns their run ids ([] for an unchanged repeat).

        ``pipeline_name`` is the pipeline to run (``?pipeline=``); None or blank
        = the source's pipeline (SIGNALFIRE_SOURCE_PIPELINES), then the default.
        """
        changes = [c for c in outcome.incidents if c.event in TRIGGERS]
        if not changes:
            return []
        name = resolve_pipeline_name(outcome.source, pipeline_name, self.settings)
        definition, nodes = load_definition(name, self.pipelines)
        trace_id = logger.get_correlation_id() or new_id("tr")
        run_ids = []
        for change in changes:
            now = utcnow()
            run = PipelineRun(
                run_id=new_id("run"), trace_id=trace_id, status=RunStatus.INGESTED, incident_id=change.incident_id,
                source=outcome.source, alert_fingerprint=change.alert_fingerprint,
                environment=self.settings.environment, trigger=change.event.value, pipeline_name=definition.name,
                pipeline_version=definition.version, nodes=nodes, max_retries=self.settings.max_retries_per_stage,
                current_stage="INGEST", created_at=now, updated_at=now,
            )
            run.normalized_payload_ref = self.runs.output_ref(run.run_id, -1, "ingest")
            self.runs.create_run(run)
            self._record_ingest(run, outcome, change.incident_id)
            self.start_execution(run, 0, run.run_id)
            run_ids.append(run.run_id)
        return run_ids

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
        self.start_execution(run, 0, run.run_id)
        return run.run_id

    def _record_ingest(self, run: PipelineRun, outcome: IngestOutcome, incident_id: str) -> None:
        """The ingest stage happened in the webhook: record it like the others
        (seed: IngestResult), and keep its normalised result as the run's
        ``normalized_payload_ref``."""
        result = {
            "incident_id": incident_id, "alert_fingerprint": run.alert_fingerprint, "source": outcome.source,
            "trigger": run.trigger, **outcome.result.model_dump(),
            "alerts": [a.model_dump(mode="json") for a in outcome.alerts if a.incident_id == incident_id],
        }
        ref = self.runs.put_output(run.run_id, -1, "ingest", "ingest", result)
        now = utcnow()
        self.runs.put_stage(StageExecution(
            run_id=run.run_id, trace_id=run.trace_id, index=-1, node_id="ingest", node_type="ingest", stage="INGEST",
            status=StageStatus.SUCCEEDED, attempt=1, idempotency_key=f"{run.run_id}:ingest:1", output_ref=ref,
            output_snapshot={k: v for k, v in result.items() if k != "alerts"}, started_at=run.created_at,
            completed_at=now, duration_ms=round((now - run.created_at).total_seconds() * 1000, 1)))

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
        except Exception as exc:  # noqa: BLE001 - the alert is stored; the run records why it did not start
            logger.exception("could not start a pipeline run", extra={"run_id": run.run_id})
            self.runs.update_run(run.run_id, {"status": RunStatus.FAILED.value, "outcome": "FAILED",
                                              "last_error_type": type(exc).__name__,
                                              "last_error_message": str(exc)[:2000],
                                              "last_error_retryable": True, "failed_index": index})
            signals.emit(signals.PIPELINE_COMPLETED, tags, outcome="FAILED", pipeline=run.pipeline_name)
            return
        signals.emit(signals.PIPELINE_STARTED, tags, pipeline=run.pipeline_name, start_index=index)
