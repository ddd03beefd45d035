"""On an Express deployment (WorkflowType=EXPRESS) a run whose pipeline's
worst case is past the execution's 5 minutes is refused when it would start:
the built-in presets are never saved, so the save-time check never saw them.

A webhook hears it (400 naming the pipeline and the limit; nothing stored;
the body kept for replay); a run owed with no sender to answer (an agent's
check-in) is recorded FAILED with the reason.  ``GET /pipelines/`` says which
pipelines fit the deployment's workflow."""

from __future__ import annotations

import pytest

from checkbatch import body as check_batch
from handler_calls import api, webhook
from support import WEBHOOK_TOKEN

ALERT = {"name": "DiskFull", "severity": "critical", "description": "disk / is 97% full", "labels": {"host": "web-1"}}
TOO_LONG = ("full", "ai-analyzed", "local-smart")


@pytest.fixture
def express(moto_stack: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    from signalfire import services

    monkeypatch.setenv("SIGNALFIRE_WORKFLOW_TYPE", "EXPRESS")
    services.reset()
    return moto_stack


@pytest.mark.parametrize("preset", TOO_LONG)
def test_a_webhook_for_a_preset_past_five_minutes_is_a_400_naming_it_and_is_kept(express, preset):
    reply = webhook({**ALERT, "name": f"Disk-{preset}"}, "generic", query={"pipeline": preset})
    assert reply.status == 400, reply
    message = reply.json["message"]
    assert f"pipeline {preset!r} cannot run on this deployment" in message
    assert "EXPRESS workflow's limit of 300 s" in message and "WorkflowType=STANDARD" in message
    details = reply.json["details"]
    assert details["pipeline"] == preset and details["limit_seconds"] == 300
    assert details["workflow_type"] == "EXPRESS" and details["worst_case_seconds"] > 300
    assert api("GET", "/alerts/").json["items"] == []  # a 4xx changes nothing
    assert api("GET", "/runs/").json["items"] == []
    [kept] = api("GET", "/alerts/rejected/").json["items"]
    assert kept["status_code"] == 400 and preset in kept["reason"]


def test_a_preset_that_fits_still_starts_on_express(express):
    reply = webhook(ALERT, "generic", query={"pipeline": "direct"})
    assert reply.status == 202, reply
    assert len(reply.json["run_ids"]) == 1


def test_standard_starts_the_same_presets(moto_stack):
    for preset in TOO_LONG:
        reply = webhook({**ALERT, "name": f"Disk-{preset}"}, "generic", query={"pipeline": preset})
        assert reply.status == 202, (preset, reply)


def test_a_run_owed_by_an_agent_check_in_is_recorded_failed_with_the_reason(express, monkeypatch):
    """No sender waits for this run's answer: the check-in is kept (202) and
    the run it owes is recorded FAILED, never started, with the reason."""
    from signalfire import services

    monkeypatch.setenv("SIGNALFIRE_AGENT_PIPELINE", "local-smart")
    services.reset()
    reply = api("POST", "/checks/", check_batch(hostname="db-1", results=[("disk", "critical")]),
                token=WEBHOOK_TOKEN)
    assert reply.status == 202, reply
    [run] = api("GET", "/runs/").json["items"]
    assert run["status"] == "FAILED" and run["pipeline_name"] == "local-smart"
    assert "'local-smart' cannot run on this deployment" in run["last_error_message"]
    assert "300 s" in run["last_error_message"] and run["last_error_retryable"] is False
    sfn = express["state_machine"]
    import boto3

    assert boto3.client("stepfunctions").list_executions(stateMachineArn=sfn)["executions"] == []


def _fits(items: list[dict]) -> dict[str, dict]:
    return {p["name"]: p["workflow_fit"] for p in items}


def test_the_pipeline_listing_says_which_presets_fit_the_workflow(express, monkeypatch):
    from signalfire import services

    fits = _fits(api("GET", "/pipelines/").json["items"])
    assert fits["direct"]["fits"] is True and fits["direct"]["worst_case_seconds"] <= 300
    for preset in TOO_LONG:
        assert fits[preset]["fits"] is False and fits[preset]["worst_case_seconds"] > 300, preset
        assert fits[preset]["first_node_past_limit"] == "analyze"
        assert fits[preset]["workflow_type"] == "EXPRESS" and fits[preset]["limit_seconds"] == 300
    assert api("GET", "/pipelines/full").json["workflow_fit"]["fits"] is False

    monkeypatch.setenv("SIGNALFIRE_WORKFLOW_TYPE", "STANDARD")
    services.reset()
    standard = _fits(api("GET", "/pipelines/").json["items"])
    assert all(f["fits"] and f["workflow_type"] == "STANDARD" for f in standard.values())


@pytest.mark.parametrize(("failed_index", "status"), [(1, 400), (2, 202)])
def test_a_resume_on_express_is_refused_when_what_is_left_does_not_fit(express, failed_index, status):
    """A `full` run that failed under Standard, resumed after the switch: from
    its analysis (analysis, fallback, notify) it cannot fit; from its notify it can."""
    from signalfire import services
    from signalfire.pipelines.compile import compile_definition
    from signalfire.pipelines.presets import PRESETS
    from signalfire.runs.models import PipelineRun, RunStatus
    from signalfire.timeutil import utcnow

    run_id = f"run_resume_{failed_index}"
    services.run_store().create_run(PipelineRun(
        run_id=run_id, trace_id="tr_resume", status=RunStatus.FAILED, outcome="FAILED", pipeline_name="full",
        pipeline_version=1, nodes=compile_definition(PRESETS["full"]), failed_index=failed_index,
        created_at=utcnow(), updated_at=utcnow()))
    reply = api("POST", f"/runs/{run_id}/resume")
    assert reply.status == status, reply
    after = services.run_store().get_run(run_id)
    if status == 400:
        assert "'full' cannot run on this deployment" in reply.json["message"]
        assert reply.json["details"]["node"] == "analyze" and reply.json["details"]["limit_seconds"] == 300
        assert after.status == RunStatus.FAILED and after.resume_count == 0  # a 4xx changes nothing
    else:
        assert after.status == RunStatus.RETRYING and after.resume_count == 1
