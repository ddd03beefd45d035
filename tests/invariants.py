"""The promise an alerting system makes, as a checker the tests run after
every concurrency and fault test (issue 7):

1. every firing alert belongs to an open or acknowledged incident (it has an
   ``incident_id``, the incident exists, is open/acknowledged, lists the alert,
   and counts it among its firing alerts) -- except an alert a person's
   resolve/close muted (``incident_closed_at``; docs/reliability.md);
2. every incident that was created, escalated or resolved by its alerts has a
   run for that event -- started, finished, or recorded as owed (PENDING);
3. ``settled=True`` (after the reconciler had its turn): nothing is still owed.

It reads the state two ways: straight from the DynamoDB table (functional
tests, moto in-process) or through the management API (e2e tests against the
``signalfire local`` process).  Both build the same :class:`State`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

OPEN = {"open", "acknowledged"}


@dataclass
class State:
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: incident id -> ids of the alerts linked to it
    links: dict[str, set[str]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)


def violations(state: State, *, settled: bool = False) -> list[str]:
    found: list[str] = []
    firing_by_incident: Counter[str] = Counter()
    for aid, alert in state.alerts.items():
        if alert.get("status") != "firing":
            continue
        inc_id = alert.get("incident_id")
        if not inc_id:
            found.append(f"firing alert {aid} has no incident")
            continue
        firing_by_incident[inc_id] += 1
        incident = state.incidents.get(inc_id)
        if incident is None:
            found.append(f"firing alert {aid} points at missing incident {inc_id}")
        elif incident.get("status") not in OPEN:
            if alert.get("incident_closed_at") and incident.get(f"{incident.get('status')}_by") != "signalfire":
                continue  # closed by a person: quiet until it escalates or the quiet period ends
            found.append(f"firing alert {aid} belongs to incident {inc_id}, which is {incident.get('status')}")
        elif aid not in state.links.get(inc_id, set()):
            found.append(f"firing alert {aid} is not linked from its incident {inc_id}")
    runs: dict[str, Counter[str]] = {}
    for run in state.runs:
        runs.setdefault(run.get("incident_id") or "", Counter())[run.get("trigger", "")] += 1
        if settled and run.get("status") == "PENDING":
            found.append(f"run {run.get('run_id')} ({run.get('trigger')} of {run.get('incident_id')}) is still owed")
    for inc_id, incident in state.incidents.items():
        have = runs.get(inc_id, Counter())
        if have["created"] < 1:
            found.append(f"incident {inc_id} was created without a run")
        escalations = int(incident.get("escalation_count") or 0)
        if have["escalated"] < escalations:
            found.append(f"incident {inc_id} escalated {escalations}x but has {have['escalated']} escalation runs")
        if incident.get("status") == "resolved" and incident.get("resolved_by") == "signalfire" and not have["resolved"]:
            found.append(f"incident {inc_id} was resolved by its alerts without a run")
        if incident.get("status") in OPEN:
            counted = int(incident.get("firing_alert_count") or 0)
            if counted != firing_by_incident[inc_id]:
                found.append(f"incident {inc_id} counts {counted} firing alerts but {firing_by_incident[inc_id]} are")
    return found


def assert_invariants(state: State, *, settled: bool = False) -> None:
    found = violations(state, settled=settled)
    assert not found, f"{len(found)} invariant violation(s):\n  " + "\n  ".join(found[:50])


# -- readers ---------------------------------------------------------------------------


def from_table(table_name: str, client: Any = None) -> State:
    """Scan the whole table (moto): alerts, incidents, membership links, runs."""
    import boto3
    from boto3.dynamodb.types import TypeDeserializer

    ddb = client or boto3.client("dynamodb")
    des = TypeDeserializer()
    state = State()
    kwargs: dict[str, Any] = {"TableName": table_name, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kwargs)
        for raw in page.get("Items", []):
            item = {k: des.deserialize(v) for k, v in raw.items()}
            pk, sk = item["PK"], item["SK"]
            if pk.startswith("ALERT#") and sk == "META":
                state.alerts[pk[6:]] = item
            elif pk.startswith("INCIDENT#") and sk == "META":
                state.incidents[pk[9:]] = item
            elif pk.startswith("INCIDENT#") and sk.startswith("ALERT#"):
                state.links.setdefault(pk[9:], set()).add(sk[6:])
            elif pk.startswith("RUN#") and sk == "META":
                state.runs.append(item)
        if "LastEvaluatedKey" not in page:
            return state
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _pages(client: Any, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        params = {"limit": 200, **({"next_token": token} if token else {})}
        body = client.get(path, params=params).raise_for_status().json()
        items += body["items"]
        token = body.get("next_token")
        if not token:
            return items


def from_api(admin: Any) -> State:
    """The same state through the management API (an httpx client with the admin token)."""
    state = State()
    state.alerts = {a["id"]: a for a in _pages(admin, "/alerts/")}
    for incident in _pages(admin, "/incidents/"):
        detail = admin.get(f"/incidents/{incident['id']}/").raise_for_status().json()
        state.incidents[incident["id"]] = detail["incident"]
        state.links[incident["id"]] = {a["id"] for a in detail["alerts"]}
    state.runs = _pages(admin, "/runs/")
    return state
