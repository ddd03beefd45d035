"""What the frame every stage runs in (stages/runner.py) costs in DynamoDB
calls: the exact list, so a cut call that comes back fails here
(docs/cost.md)."""

from __future__ import annotations

from handler_calls import webhook

#: the frame's own calls for one successful attempt (the stage's logic adds its own)
EXPECTED_STAGE_FRAME_CALLS = [
    "GetItem",         # the run
    "PutItem",         # the RUNNING StageExecution
    "UpdateItem",      # the run's current stage
    "Query",           # the incident's alert links
    "BatchGetItem",    # the incident, its alerts and the stage's inputs (ingest output), together
    "BatchWriteItem",  # the stage's output and its finished StageExecution, together
    "UpdateItem",      # the run's progress
]


def test_a_stage_attempt_costs_these_dynamodb_calls_and_no_more(moto_stack, dynamodb_calls):
    from signalfire import services
    from signalfire.stages.runner import StageOutcome, run_stage

    alerts = [{"name": "Frame", "fingerprint": f"frame-{i}", "severity": "critical", "labels": {"i": str(i)}}
              for i in range(3)]
    body = webhook({"alerts": alerts, "groupKey": "frame"}, driver="generic").json
    (run_id,) = body["run_ids"]
    run = services.run_store().get_run(run_id)
    seen = {}

    def logic(ctx):
        seen.update(incident=ctx.incident.id, alerts=[a.fingerprint for a in ctx.alerts], outputs=set(ctx.outputs),
                    ingest=ctx.outputs["ingest"]["incident_id"])
        return StageOutcome(output={"ok": True})

    payload = {"run_id": run_id, "trace_id": run.trace_id, "incident_id": run.incident_id, "index": 0,
               "count": len(run.nodes), "node": run.nodes[0], "outputs": {}, "attempt": 0, "max_retries": 3}
    dynamodb_calls.reset()
    reply = run_stage(payload, logic)
    assert reply["status"] == "SUCCEEDED"
    assert dynamodb_calls.calls == EXPECTED_STAGE_FRAME_CALLS, dynamodb_calls.calls
    assert "GetItem" not in dynamodb_calls.calls[1:], "the incident and its alerts come in the one BatchGetItem"
    # what the stage saw is what the separate reads give
    separate = [a.fingerprint for a in services.alert_store().incident_alerts(run.incident_id)]
    assert sorted(separate) == ["frame-0", "frame-1", "frame-2"]
    assert seen == {"incident": run.incident_id, "alerts": separate, "outputs": {"ingest"},
                    "ingest": run.incident_id}
    stages = services.run_store().stages(run_id)
    assert [(s.node_id, s.status.value) for s in stages][-1] == (run.nodes[0]["id"], "SUCCEEDED")
    assert services.run_store().outputs(run_id)[run.nodes[0]["id"]] == {"ok": True}
