"""Ingest semantics through the real ingest handler, against moto
(seed: AlertOrchestrator).  Given a payload, when it is posted, then the
alerts, incidents and history in the table say what happened."""

from __future__ import annotations

import copy
import threading

import pytest

from handler_calls import api, webhook
from invariants import assert_invariants, from_table


def am_group(status: str = "firing", alerts: list[dict] | None = None, group_key: str = '{}:{alertname="DiskFull"}'):
    """An Alertmanager webhook (version 4) with one or more alerts."""
    alerts = alerts or [am_alert("DiskFull", "web-1", status=status)]
    return {
        "version": "4", "groupKey": group_key, "truncatedAlerts": 0, "status": status,
        "receiver": "signalfire", "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am.example:9093", "alerts": alerts,
    }


def am_alert(name: str, host: str, status: str = "firing", severity: str = "critical", fp: str | None = None):
    return {
        "status": status,
        "labels": {"alertname": name, "instance": f"{host}:9100", "severity": severity},
        "annotations": {"summary": f"{name} on {host}"},
        "startsAt": "2026-11-27T10:00:00Z",
        "endsAt": "2026-11-27T11:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prom.example/graph", "fingerprint": fp or f"{name}-{host}",
    }


def test_firing_alert_creates_alert_incident_and_history(moto_stack):
    reply = webhook(am_group())
    assert reply.status == 202, reply
    body = reply.json
    assert body["source"] == "alertmanager"
    assert (body["alerts_created"], body["incidents_created"]) == (1, 1)
    alert_id = body["alerts"][0]["alert_id"]
    detail = api("GET", f"/alerts/{alert_id}/").json
    assert detail["alert"]["status"] == "firing"
    assert detail["alert"]["severity"] == "critical"
    assert [h["event"] for h in detail["history"]] == ["created"]
    incident = api("GET", f"/incidents/{body['incidents'][0]['incident_id']}").json
    assert incident["incident"]["status"] == "open"
    assert [a["id"] for a in incident["alerts"]] == [alert_id]
    assert incident["incident"]["firing_alert_count"] == 1


def test_repeat_is_unchanged_and_costs_no_write(moto_stack, dynamodb_calls):
    assert webhook(am_group()).json["alerts_created"] == 1
    dynamodb_calls.reset()
    again = webhook(am_group()).json
    assert again["alerts_unchanged"] == 1
    assert again["alerts_created"] == again["alerts_updated"] == again["incidents_created"] == 0
    assert again["incidents"] == [] and again["run_ids"] == []
    assert dynamodb_calls.writes() == [], dynamodb_calls.calls
    assert dynamodb_calls.calls.count("GetItem") == 1


def test_resolution_resolves_incident_when_all_alerts_resolved(moto_stack):
    two = [am_alert("DiskFull", "web-1"), am_alert("DiskFull", "web-2")]
    first = webhook(am_group(alerts=two)).json
    assert first["alerts_created"] == 2 and first["incidents_created"] == 1
    incident_id = first["incidents"][0]["incident_id"]
    assert {a["incident_id"] for a in first["alerts"]} == {incident_id}

    half = webhook(am_group(status="resolved", alerts=[am_alert("DiskFull", "web-1", "resolved"), two[1]])).json
    assert half["alerts_resolved"] == 1 and half["incidents_resolved"] == 0
    assert api("GET", f"/incidents/{incident_id}").json["incident"]["status"] == "open"

    resolved = [am_alert("DiskFull", h, "resolved") for h in ("web-1", "web-2")]
    done = webhook(am_group(status="resolved", alerts=resolved)).json
    assert done["alerts_resolved"] == 1 and done["incidents_resolved"] == 1
    assert [i["event"] for i in done["incidents"]] == ["resolved"]
    inc = api("GET", f"/incidents/{incident_id}").json["incident"]
    assert inc["status"] == "resolved" and inc["resolved_at"] and inc["firing_alert_count"] == 0


def test_refire_after_resolution_opens_a_new_incident_and_records_history(moto_stack):
    first = webhook(am_group()).json
    webhook(am_group(status="resolved", alerts=[am_alert("DiskFull", "web-1", "resolved")]))
    again = webhook(am_group()).json
    assert again["alerts_updated"] == 1 and again["incidents_created"] == 1
    assert again["incidents"][0]["incident_id"] != first["incidents"][0]["incident_id"]
    history = api("GET", f"/alerts/{first['alerts'][0]['alert_id']}").json["history"]
    assert [h["event"] for h in history] == ["created", "resolved", "refired"]


def test_severity_escalation_updates_incident(moto_stack):
    webhook(am_group(alerts=[am_alert("Load", "db-1", severity="warning")], group_key="g-load"))
    up = webhook(am_group(alerts=[am_alert("Load", "db-1", severity="critical")], group_key="g-load")).json
    assert up["alerts"][0]["change"] == "escalated"
    assert [i["event"] for i in up["incidents"]] == ["escalated"] and len(up["run_ids"]) == 1  # a run starts
    inc = api("GET", f"/incidents/{up['alerts'][0]['incident_id']}").json["incident"]
    assert inc["severity"] == "critical"


def test_second_alert_of_a_group_attaches_to_the_open_incident(moto_stack):
    a = webhook(am_group(alerts=[am_alert("DiskFull", "web-1")])).json
    b = webhook(am_group(alerts=[am_alert("DiskFull", "web-3")])).json
    assert b["incidents_created"] == 0 and b["incidents_updated"] == 1
    assert b["alerts"][0]["incident_id"] == a["incidents"][0]["incident_id"]
    inc = api("GET", f"/incidents/{a['incidents'][0]['incident_id']}").json
    assert inc["incident"]["alert_count"] == 2 and len(inc["alerts"]) == 2


def test_resolved_alert_never_seen_is_stored_without_incident(moto_stack):
    body = webhook(am_group(status="resolved", alerts=[am_alert("Gone", "x", "resolved")])).json
    assert body["alerts_created"] == 1 and body["incidents_created"] == 0
    assert body["alerts"][0]["incident_id"] is None


def test_fifty_identical_webhooks_at_once_give_one_alert_and_one_incident(moto_stack):
    payload = am_group()
    replies: list = []
    barrier = threading.Barrier(50)

    def send() -> None:
        barrier.wait()
        replies.append(webhook(copy.deepcopy(payload)))

    threads = [threading.Thread(target=send) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted({r.status for r in replies}) == [202], [r for r in replies if r.status != 202][:3]
    assert sum(r.json["alerts_created"] for r in replies) == 1
    assert sum(r.json["incidents_created"] for r in replies) == 1
    assert sum(r.json["alerts_unchanged"] for r in replies) == 49
    assert api("GET", "/alerts/").json["count"] == 1
    incidents = api("GET", "/incidents/").json
    assert incidents["count"] == 1
    assert incidents["items"][0]["alert_count"] == 1
    # one run: the 49 that lost the race owed nothing; the invariant holds, nothing left owed
    assert api("GET", "/runs/").json["count"] == 1
    assert_invariants(from_table(moto_stack["table"]), settled=True)


@pytest.mark.parametrize("driver", [None, "alertmanager"])
def test_trailing_slash_and_forced_driver(moto_stack, driver):
    assert webhook(am_group(), driver=driver).status == 202


def test_repeated_group_costs_one_batch_read_and_no_write(moto_stack, dynamodb_calls):
    group = am_group(alerts=[am_alert("DiskFull", f"web-{i}") for i in range(12)])
    assert webhook(group).json["alerts_created"] == 12
    dynamodb_calls.reset()
    again = webhook(group).json
    assert again["alerts_unchanged"] == 12 and again["run_ids"] == []
    assert dynamodb_calls.calls == ["BatchGetItem"]


def test_a_new_alert_costs_these_dynamodb_calls_and_no_more(moto_stack, dynamodb_calls):
    """The exact calls of the new-alert path (docs/cost.md): each cut call has
    an assertion here that fails if it comes back."""
    body = webhook(am_group(alerts=[am_alert("CostProbe", "web-1")])).json
    assert body["incidents_created"] == 1 and len(body["run_ids"]) == 1
    assert dynamodb_calls.calls == EXPECTED_NEW_ALERT_CALLS, dynamodb_calls.calls
    assert "PutItem" not in dynamodb_calls.calls, "the ingest output and stage go in one BatchWriteItem"
    assert dynamodb_calls.calls.count("GetItem") == 2, "the run just written is not read back"
    assert "UpdateItem" not in dynamodb_calls.calls, "no claim, no INGESTED mark, no owed-run clear: born INGESTED"
    run = api("GET", f"/runs/{body['run_ids'][0]}").json
    assert [s["node_id"] for s in run["stages"]][:1] == ["ingest"]


EXPECTED_NEW_ALERT_CALLS = [
    "GetItem",             # the alert (absent)
    "GetItem",             # the group's OPEN pointer (absent)
    "TransactWriteItems",  # alert + history + incident + pointer + link + run (born INGESTED, with its pipeline)
    "BatchWriteItem",      # ingest output + ingest stage
]


def _ingest_only(body: dict, *, planned: bool = True):
    """A generic webhook through ingest alone, as the webhook does before it
    starts runs (``planned``: its runs are born INGESTED, with their pipeline)
    or as a check-in does (not)."""
    from signalfire import services
    from signalfire.alerts.drivers import parse_webhook
    from signalfire.alerts.ingest import IngestService

    launcher = services.launcher()
    ingest = IngestService(services.alert_store())
    parsed = parse_webhook(body, "generic")
    if planned:
        return launcher, ingest.process(parsed, plan=launcher.plan_for("generic", None))
    return launcher, ingest.process(parsed, launcher.pipeline_for("generic", None))


def _count_starts(launcher) -> list[str]:
    names: list[str] = []
    launcher.sfn.meta.events.register("before-parameter-build.sfn.StartExecution",
                                      lambda params, **_: names.append(params["name"]))
    return names


def test_a_run_another_starter_started_first_is_not_started_again(moto_stack):
    """Runs not born INGESTED (a check-in's): the launcher starts the run its
    own transaction wrote without reading it back; if another starter (a
    duplicate delivery, the reconciler) got there first, the conditional
    claim refuses the stale copy."""
    from signalfire import services

    launcher, outcome = _ingest_only({"name": "RaceProbe", "severity": "critical", "labels": {"host": "h1"}},
                                     planned=False)
    (run_id,) = outcome.owed_run_ids
    starts = _count_starts(launcher)
    assert launcher.start_owed(run_id) is True  # the other starter: reads it, claims it, starts it
    assert launcher.start_for(outcome) == [run_id]  # ours, from what it wrote: reported, not started again
    assert starts == [run_id]
    assert services.run_store().get_run(run_id).status.value == "INGESTED"
    # A refused claim cannot tell "started" from "held": the alert keeps the run owed,
    # and the next delivery's start reads it, finds it started and clears it.
    alert_id = outcome.owed[0].alert_id
    assert services.alert_store().get_alert(alert_id).owed_runs == [run_id]
    _, again = _ingest_only({"name": "RaceProbe", "severity": "critical", "labels": {"host": "h1"}}, planned=False)
    assert again.owed_run_ids == [run_id] and launcher.start_for(again) == [run_id]
    assert starts == [run_id] and services.alert_store().get_alert(alert_id).owed_runs == []


def test_an_owed_run_another_starter_holds_stays_owed_until_it_is_started(moto_stack):
    """A check-in's run (written owed) whose lease another starter holds is not
    cleared from the alert's owed runs: if that starter fails, the next
    delivery still finds it owed.  Once started, the next start clears it."""
    from signalfire import services
    from signalfire.runs.launcher import CLAIM
    from signalfire.timeutil import iso, utcnow

    launcher, outcome = _ingest_only({"name": "HeldElsewhere", "severity": "critical", "labels": {"host": "h1"}},
                                     planned=False)
    (run_id,) = outcome.owed_run_ids
    alert_id = outcome.owed[0].alert_id
    services.run_store().update_run(run_id, {"claimed_until": iso(utcnow() + CLAIM)})
    starts = _count_starts(launcher)
    assert launcher.start_for(outcome) == [run_id] and starts == []
    assert services.alert_store().get_alert(alert_id).owed_runs == [run_id]
    services.run_store().update_run(run_id, {"claimed_until": ""})  # that starter gave up
    assert launcher.start_for(outcome) == [run_id] and starts == [run_id]
    assert services.alert_store().get_alert(alert_id).owed_runs == []


def test_a_run_born_ingested_is_started_by_its_webhook_alone(moto_stack):
    """The webhook's runs are born INGESTED, with their pipeline, in the alert's
    transaction, and are not owed: another starter arriving between that
    transaction and the webhook's own start (a duplicate delivery, the
    reconciler, a resume) finds nothing to start, and the webhook starts it once."""
    from signalfire import services
    from signalfire.errors import ConflictError
    from signalfire.runs.reconcile import Reconciler
    from signalfire.runs.resume import resume_run

    launcher, outcome = _ingest_only({"name": "BornIngested", "severity": "critical", "labels": {"host": "h1"}})
    assert outcome.owed_run_ids == []
    (run_id,) = outcome.born_run_ids
    stored = services.run_store().get_run(run_id)
    assert stored.status.value == "INGESTED" and stored.pipeline_name == "direct" and stored.nodes
    assert services.alert_store().get_alert(outcome.born[0].alert_id).owed_runs == []
    starts = _count_starts(launcher)
    assert launcher.start_owed(run_id) is True  # the other starter: not owed, nothing to start
    with pytest.raises(ConflictError, match="is INGESTED"):
        resume_run(run_id, launcher)
    report = Reconciler(launcher).reconcile()  # in progress, within its deadline: left alone
    assert run_id not in report.owed_started + report.restarted + report.failed
    assert starts == []
    assert launcher.start_for(outcome) == [run_id]
    assert starts == [run_id]
    assert services.run_store().get_run(run_id).status.value == "INGESTED"


def test_a_born_run_whose_ingest_record_cannot_be_written_is_owed_and_the_retry_starts_it(moto_stack,
                                                                                        monkeypatch):
    """Born INGESTED, but the store refuses its ingest record (throttled) before
    StartExecution: the run becomes owed on its alert (PENDING), the webhook
    answers 503, and the sender's retry starts it once."""
    from signalfire import services
    from signalfire.errors import StoreUnavailableError

    body = {"name": "ThrottledBirth", "severity": "critical", "labels": {"host": "h1"}}
    launcher, outcome = _ingest_only(body)
    (run_id,) = outcome.born_run_ids
    real_put = launcher.runs.put_output

    def throttled(*args, **kwargs):
        monkeypatch.setattr(launcher.runs, "put_output", real_put)  # once
        raise StoreUnavailableError("the alert store is busy; retry shortly")

    monkeypatch.setattr(launcher.runs, "put_output", throttled)
    starts = _count_starts(launcher)
    with pytest.raises(StoreUnavailableError):
        launcher.start_for(outcome)
    assert starts == [] and services.run_store().get_run(run_id).status.value == "PENDING"
    assert services.alert_store().get_alert(outcome.born[0].alert_id).owed_runs == [run_id]
    _, retry = _ingest_only(body)  # the sender's retry: unchanged, and owes the run
    assert retry.born_run_ids == [] and retry.owed_run_ids == [run_id]
    assert launcher.start_for(retry) == [run_id] and starts == [run_id]
    assert services.run_store().get_run(run_id).status.value == "INGESTED"
    assert services.alert_store().get_alert(outcome.born[0].alert_id).owed_runs == []


def test_a_born_run_outlasts_the_function_that_starts_it(moto_stack):
    """A run born INGESTED is restarted by the reconciler only once it has made
    no progress for RunDeadlineSeconds; that must not happen while the webhook
    that starts it still runs (else it could be started twice): Lambda stops
    the ingest function at its Timeout, well inside the smallest deadline."""
    template = moto_stack["template"]
    timeout = template.functions()["IngestFunction"].timeout
    smallest = template.doc["Parameters"]["RunDeadlineSeconds"]["MinValue"]
    assert timeout * 2 <= smallest, (timeout, smallest)


def test_a_run_whose_webhook_died_after_the_transaction_is_restarted_once_past_its_deadline(moto_stack,
                                                                                            monkeypatch):
    """The webhook wrote the run (born INGESTED) and died before starting it:
    nobody starts it within RunDeadlineSeconds; after that the reconciler finds
    no execution by its name and restarts it, once."""
    from datetime import timedelta

    from signalfire import services
    from signalfire.runs import reconcile as reconcile_module
    from signalfire.runs.reconcile import Reconciler

    launcher, outcome = _ingest_only({"name": "DiedAfterWrite", "severity": "critical", "labels": {"h": "1"}})
    (run_id,) = outcome.born_run_ids
    starts = _count_starts(launcher)
    assert Reconciler(launcher).reconcile().restarted == [] and starts == []
    later = reconcile_module.utcnow() + timedelta(seconds=launcher.settings.run_deadline_seconds + 1)
    monkeypatch.setattr(reconcile_module, "utcnow", lambda: later)
    assert Reconciler(launcher).reconcile().restarted == [run_id] and starts == [run_id]
    monkeypatch.undo()
    assert Reconciler(launcher).reconcile().restarted == [] and starts == [run_id]
    assert services.run_store().get_run(run_id).status.value == "INGESTED"
