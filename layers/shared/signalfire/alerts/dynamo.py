"""Alert, incident, history and rejected-payload storage in DynamoDB.

Item layout (single table; docs/table-design.md has the full picture):

=====================  =====================  ================================
PK                     SK                     what
=====================  =====================  ================================
ALERT#<alert_id>       META                   the alert (GSI1/2/3: lists)
ALERT#<alert_id>       HIST#<time>#<rand>     one history event (TTL)
INCIDENT#<id>          META                   the incident (GSI1/2: lists)
INCIDENT#<id>          ALERT#<alert_id>       membership link
INCIDENT#<id>          NOTE#<time>#<note_id>  one note (an item each: no list grows
                                              inside the incident's 400 KB item)
GROUP#<group_id>       OPEN                   the open incident of a group
REJECTED#<sha256>      META                   a rejected body, with a count (TTL)
=====================  =====================  ================================
"""

from __future__ import annotations

import contextlib
import gzip
import os
import zlib
from typing import Any

from signalfire.alerts.models import (
    Alert,
    AlertHistory,
    AlertStatus,
    Incident,
    IncidentNote,
    IncidentStatus,
    ParsedPayload,
    RejectedPayload,
)
from signalfire.alerts.store import AlertStore, AlertWrite, JoinIncident, LeaveIncident
from signalfire.errors import ItemTooLargeError
from signalfire.runs.dynamo import run_item
from signalfire.store.codec import MAX_ITEM_BYTES, item_size, pack_json, to_dynamo, unpack_json
from signalfire.store.dynamo import DynamoTable, Page
from signalfire.store.exceptions import ConditionFailed
from signalfire.timeutil import iso, utcnow

# Keep a rejected body's item well under DynamoDB's 400 KB item limit.
MAX_STORED_BODY = 300 * 1024


def pack_raw(raw_payload: dict[str, Any]) -> bytes:
    """How an alert's raw payload is stored (and measured before a write)."""
    return gzip.compress(pack_json(raw_payload), compresslevel=6)


def _sortkey(ts: Any, ident: str) -> str:
    return f"{iso(ts) if not isinstance(ts, str) else ts}#{ident}"


# What an alert item holds besides the sender's text: ids, times, index keys.
_ALERT_ITEM_OVERHEAD = 4 * 1024


class DynamoAlertStore(AlertStore):
    def check_storable(self, parsed: ParsedPayload) -> None:
        for p in parsed.alerts:
            text = to_dynamo({"name": p.name, "fingerprint": p.fingerprint, "description": p.description,
                              "labels": p.labels, "annotations": p.annotations, "group_key": parsed.group_key})
            size = item_size(text) + len(pack_raw(p.raw_payload)) + _ALERT_ITEM_OVERHEAD
            if size > MAX_ITEM_BYTES:
                raise ItemTooLargeError(
                    f"alert {p.name[:80]!r} would take {size} bytes stored, over DynamoDB's {MAX_ITEM_BYTES}-byte "
                    "(400 KB) item limit: send fewer or shorter labels and annotations",
                    details={"item_bytes": size, "limit_bytes": MAX_ITEM_BYTES})

    def __init__(self, table: DynamoTable, retention_days: int = 90) -> None:
        self.t = table
        self.retention_days = retention_days

    # -- alerts ------------------------------------------------------------------------

    @staticmethod
    def _alert_item(alert: Alert) -> dict[str, Any]:
        data = alert.model_dump(mode="json", exclude={"raw_payload"})
        # The vendor's payload is kept verbatim as gzipped JSON: any number,
        # any nesting, and a fraction of the bytes a DynamoDB map would take.
        data["raw_gz"] = pack_raw(alert.raw_payload)
        sk = _sortkey(alert.updated_at, alert.id)
        data.update(
            PK=f"ALERT#{alert.id}", SK="META", type="alert",
            GSI1PK="ALERTS", GSI1SK=sk,
            GSI2PK=f"ALERTS#STATUS#{alert.status.value}", GSI2SK=sk,
            GSI3PK=f"ALERTS#SOURCE#{alert.source}", GSI3SK=sk,
        )
        return data

    @staticmethod
    def _alert_from(item: dict[str, Any]) -> Alert:
        data = {k: v for k, v in item.items() if k in Alert.model_fields}
        if item.get("raw_gz"):
            data["raw_payload"] = unpack_json(gzip.decompress(item["raw_gz"]))
        return Alert.model_validate(data)

    def _history_item(self, h: AlertHistory) -> dict[str, Any]:
        data = h.model_dump(mode="json")
        data.update(PK=f"ALERT#{h.alert_id}", SK=f"HIST#{iso(h.created_at)}#{os.urandom(3).hex()}",
                    type="alert_history", expires_at=self.t.expiry(self.retention_days))
        return data

    def get_alert(self, alert_id: str) -> Alert | None:
        item = self.t.get(f"ALERT#{alert_id}", "META")
        return self._alert_from(item) if item else None

    def get_alerts(self, alert_ids: list[str]) -> dict[str, Alert]:
        if len(alert_ids) == 1:
            one = self.get_alert(alert_ids[0])
            return {one.id: one} if one else {}
        items = self.t.batch_get([(f"ALERT#{a}", "META") for a in alert_ids])
        return {alert.id: alert for alert in map(self._alert_from, items)}

    # -- one alert change, one transaction ----------------------------------------------

    _OPEN = {":open": "open", ":ack": "acknowledged"}

    def write_alert(self, write: AlertWrite) -> None:
        alert, t = write.alert, self.t
        if write.expected_version is None:
            actions = [t.tx_put(self._alert_item(alert), condition="attribute_not_exists(PK)")]
        else:
            actions = [t.tx_put(self._alert_item(alert), condition="version = :v",
                                values={":v": write.expected_version})]
        actions.append(t.tx_put(self._history_item(write.history)))
        now = str(iso(utcnow()))
        if write.join is not None:
            actions += self._join_actions(alert, write.join, now)
        if write.leave is not None:
            actions += self._leave_actions(write.leave, now)
        if write.escalate is not None:
            e = write.escalate
            actions.append(t.tx_update(
                f"INCIDENT#{e.incident_id}", "META",
                "SET severity = :sev, updated_at = :now ADD escalation_count :one",
                condition="#st IN (:open, :ack) AND severity = :was", names={"#st": "status"},
                values={":sev": e.to_severity.value, ":was": e.from_severity.value, ":now": now, ":one": 1,
                        **self._OPEN}))
        actions += [t.tx_put(run_item(run, self.t.expiry(self.retention_days)), condition="attribute_not_exists(PK)")
                    for run in write.runs]
        t.transact(actions)

    def _join_actions(self, alert: Alert, join: JoinIncident, now: str) -> list[dict[str, Any]]:
        t, inc = self.t, join.incident
        firing = 1 if alert.is_firing else 0
        actions = []
        if join.new_link:
            actions.append(t.tx_put({"PK": f"INCIDENT#{inc.id}", "SK": f"ALERT#{alert.id}",
                                     "type": "incident_alert", "alert_id": alert.id, "linked_at": now}))
        if join.created:
            created = inc.model_copy(update={"alert_count": 1, "firing_alert_count": firing})
            actions.append(t.tx_put(self._incident_item(created), condition="attribute_not_exists(PK)"))
            pointer = {"PK": f"GROUP#{inc.group_id}", "SK": "OPEN", "incident_id": inc.id, "type": "group_pointer"}
            if join.replaces:
                actions.append(t.tx_put(pointer, condition="incident_id = :old", values={":old": join.replaces}))
            else:
                actions.append(t.tx_put(pointer, condition="attribute_not_exists(PK)"))
            return actions
        expr = "SET updated_at = :now ADD firing_alert_count :f"
        values: dict[str, Any] = {":now": now, ":f": firing, **self._OPEN}
        condition = "#st IN (:open, :ack)"
        if join.new_link:
            expr += ", alert_count :one"
            values[":one"] = 1
        if join.escalate_to is not None and join.escalate_from is not None:
            expr = expr.replace("SET updated_at = :now", "SET updated_at = :now, severity = :sev")
            expr += ", escalation_count :esc"
            values.update({":sev": join.escalate_to.value, ":was": join.escalate_from.value, ":esc": 1})
            condition += " AND severity = :was"
        actions.append(t.tx_update(f"INCIDENT#{inc.id}", "META", expr, condition=condition,
                                   names={"#st": "status"}, values=values))
        return actions

    def _leave_actions(self, leave: LeaveIncident, now: str) -> list[dict[str, Any]]:
        t = self.t
        if not leave.resolve:
            # Someone else still fires (so the count stays >= 1), or the incident is
            # no longer open (resolved/closed by hand): only the count changes.
            return [t.tx_update(
                f"INCIDENT#{leave.incident_id}", "META",
                "SET updated_at = :now ADD firing_alert_count :minus",
                condition="attribute_exists(PK) AND (firing_alert_count > :one OR NOT (#st IN (:open, :ack)))",
                names={"#st": "status"}, values={":now": now, ":minus": -1, ":one": 1, **self._OPEN})]
        actions = [t.tx_update(
            f"INCIDENT#{leave.incident_id}", "META",
            "SET #st = :resolved, resolved_at = :now, resolved_by = :by, updated_at = :now, GSI2PK = :g2 "
            "ADD firing_alert_count :minus",
            condition="firing_alert_count <= :one AND #st IN (:open, :ack)", names={"#st": "status"},
            values={":resolved": "resolved", ":now": now, ":by": "signalfire", ":minus": -1, ":one": 1,
                    ":g2": "INCIDENTS#STATUS#resolved", **self._OPEN})]
        if leave.group_id:
            # Free the group for its next incident (unless it already names a newer one).
            actions.append(t.tx_delete(f"GROUP#{leave.group_id}", "OPEN",
                                       condition="attribute_not_exists(PK) OR incident_id = :id",
                                       values={":id": leave.incident_id}))
        return actions

    def group_pointer(self, group_id: str) -> str | None:
        item = self.t.get(f"GROUP#{group_id}", "OPEN")
        return str(item["incident_id"]) if item else None

    def clear_owed_runs(self, alert_id: str, version: int) -> None:
        with contextlib.suppress(ConditionFailed):  # changed since: its next reader starts what it owes
            self.t.update(f"ALERT#{alert_id}", "META", "REMOVE owed_runs", condition="version = :v",
                          values={":v": version}, return_new=False)

    def owe_runs(self, alert_id: str, run_ids: list[str]) -> None:
        self.t.update(f"ALERT#{alert_id}", "META", "SET owed_runs = list_append(if_not_exists(owed_runs, :none), :ids)",
                      condition="attribute_exists(PK)", values={":none": [], ":ids": list(run_ids)}, return_new=False)

    def mark_closed_by_hand(self, incident_id: str, at: str) -> int:
        marked = 0
        for alert in self.incident_alerts(incident_id):
            if not alert.is_firing or alert.incident_id != incident_id:
                continue
            with contextlib.suppress(ConditionFailed):
                self.t.update(f"ALERT#{alert.id}", "META", "SET incident_closed_at = :at",
                              condition="incident_id = :inc AND #st = :firing", names={"#st": "status"},
                              values={":at": at, ":inc": incident_id, ":firing": "firing"}, return_new=False)
                marked += 1
        return marked

    def alert_history(self, alert_id: str, limit: int = 100) -> list[AlertHistory]:
        page = self.t.query(pk_name="PK", pk=f"ALERT#{alert_id}", sk_name="SK", sk_prefix="HIST#",
                            limit=limit, newest_first=False, consistent=True)
        return [AlertHistory.model_validate({k: v for k, v in i.items() if k in AlertHistory.model_fields})
                for i in page.items]

    def list_alerts(self, *, status: str | None, severity: str | None, source: str | None,
                    since: str | None, limit: int, next_token: str | None) -> Page:
        filters: dict[str, Any] = {}
        if status:
            index, pk = "GSI2", f"ALERTS#STATUS#{status}"
            if source:
                filters["source"] = source
        elif source:
            index, pk = "GSI3", f"ALERTS#SOURCE#{source}"
        else:
            index, pk = "GSI1", "ALERTS"
        if severity:
            filters["severity"] = severity
        page = self.t.query_index(index, pk, sk_from=since,
                            limit=limit, next_token=next_token, filters=filters)
        page.items = [self._alert_from(i) for i in page.items]
        return page

    # -- incidents -----------------------------------------------------------------------

    @staticmethod
    def _incident_item(inc: Incident) -> dict[str, Any]:
        data = inc.model_dump(mode="json")
        sk = _sortkey(inc.created_at, inc.id)
        data.update(PK=f"INCIDENT#{inc.id}", SK="META", type="incident", GSI1PK="INCIDENTS", GSI1SK=sk,
                    GSI2PK=f"INCIDENTS#STATUS#{inc.status.value}", GSI2SK=sk)
        return data

    @staticmethod
    def _incident_from(item: dict[str, Any]) -> Incident:
        return Incident.model_validate({k: v for k, v in item.items() if k in Incident.model_fields})

    def get_incident(self, incident_id: str) -> Incident | None:
        item = self.t.get(f"INCIDENT#{incident_id}", "META")
        return self._incident_from(item) if item else None

    def _status_changes(self, status: IncidentStatus, changes: dict[str, Any]) -> tuple[str, dict]:
        changes = {**changes, "status": status.value, "updated_at": iso(utcnow()),
                   "GSI2PK": f"INCIDENTS#STATUS#{status.value}"}
        names = {f"#c{i}": k for i, k in enumerate(changes)}
        values = {f":c{i}": v for i, v in enumerate(changes.values())}
        expr = "SET " + ", ".join(f"#c{i} = :c{i}" for i in range(len(changes)))
        return expr, {"names": names, "values": values}

    def _release_group(self, incident: Incident) -> None:
        if not incident.group_id:
            return
        # If the condition fails the group already points at a newer incident.
        with contextlib.suppress(ConditionFailed):
            self.t.delete(f"GROUP#{incident.group_id}", "OPEN", condition="incident_id = :id",
                          values={":id": incident.id})

    def transition_incident(self, incident_id: str, allowed_from: set[IncidentStatus],
                            changes: dict[str, Any], note: IncidentNote | None = None) -> Incident:
        status = IncidentStatus(changes.pop("status"))
        expr, parts = self._status_changes(status, changes)
        allowed = {f":a{i}": s.value for i, s in enumerate(sorted(allowed_from))}
        condition = f"attribute_exists(PK) AND #cst IN ({', '.join(allowed)})"
        names, values = {**parts["names"], "#cst": "status"}, {**parts["values"], **allowed}
        if note is None:
            item = self.t.update(f"INCIDENT#{incident_id}", "META", expr, condition=condition, names=names,
                                 values=values)
            incident = self._incident_from(item or {})
        else:
            # The status change and its note land together or not at all.
            self.t.transact([
                self.t.tx_update(f"INCIDENT#{incident_id}", "META", expr + ", note_count = if_not_exists("
                                 "note_count, :nz) + :n1", condition=condition, names=names,
                                 values={**values, ":nz": 0, ":n1": 1}),
                self.t.tx_put(self._note_item(note), condition="attribute_not_exists(PK)"),
            ])
            incident = self._require_incident(incident_id)
        if not incident.is_open:
            self._release_group(incident)
        return incident

    @staticmethod
    def _note_item(note: IncidentNote) -> dict[str, Any]:
        data = note.model_dump(mode="json")
        data.update(PK=f"INCIDENT#{note.incident_id}", SK=f"NOTE#{iso(note.at)}#{note.id}", type="incident_note")
        return data

    def _require_incident(self, incident_id: str) -> Incident:
        found = self.get_incident(incident_id)
        if found is None:
            raise ConditionFailed("incident vanished")
        return found

    def add_incident_note(self, note: IncidentNote) -> Incident:
        self.t.transact([
            self.t.tx_update(f"INCIDENT#{note.incident_id}", "META",
                             "SET updated_at = :now, note_count = if_not_exists(note_count, :nz) + :n1",
                             condition="attribute_exists(PK)",
                             values={":now": iso(utcnow()), ":nz": 0, ":n1": 1}),
            self.t.tx_put(self._note_item(note), condition="attribute_not_exists(PK)"),
        ])
        return self._require_incident(note.incident_id)

    def incident_notes(self, incident_id: str, limit: int = 100) -> list[IncidentNote]:
        page = self.t.query(pk_name="PK", pk=f"INCIDENT#{incident_id}", sk_name="SK", sk_prefix="NOTE#",
                            limit=limit, newest_first=False, consistent=True)
        return [IncidentNote.model_validate({k: v for k, v in i.items() if k in IncidentNote.model_fields})
                for i in page.items]

    def list_incidents(self, *, status: str | None, severity: str | None, since: str | None,
                       limit: int, next_token: str | None) -> Page:
        if status:
            index, pk = "GSI2", f"INCIDENTS#STATUS#{status}"
        else:
            index, pk = "GSI1", "INCIDENTS"
        page = self.t.query_index(index, pk, sk_from=since,
                            limit=limit, next_token=next_token,
                            filters={"severity": severity} if severity else None)
        page.items = [self._incident_from(i) for i in page.items]
        return page

    def incident_context(self, incident_id: str, also: list[tuple[str, str]] | None = None,
                         ) -> tuple[Incident | None, list[Alert], dict[tuple[str, str], dict[str, Any]]]:
        """The incident, its alerts (in link order, by alert id) and the items at
        the keys ``also`` (a stage's inputs: its run's stage outputs), in two
        round trips: the membership query, then one consistent BatchGetItem for
        the rest (as consistent as the separate reads it replaces)."""
        incident_key = (f"INCIDENT#{incident_id}", "META")
        alert_keys = [(f"ALERT#{aid}", "META") for aid in self._member_ids(incident_id)]
        extra = list(also or [])
        found = {(i["PK"], i["SK"]): i for i in self.t.batch_get([incident_key, *alert_keys, *extra])}
        incident = self._incident_from(found[incident_key]) if incident_key in found else None
        alerts = [self._alert_from(found[k]) for k in dict.fromkeys(alert_keys) if k in found]
        return incident, alerts, {k: found[k] for k in extra if k in found}

    def _member_ids(self, incident_id: str) -> list[str]:
        """The ids of an incident's alerts, from its link items (sorted by alert id)."""
        links = self.t.query(pk_name="PK", pk=f"INCIDENT#{incident_id}", sk_name="SK", sk_prefix="ALERT#",
                             limit=1000, newest_first=False, consistent=True)
        return [link["alert_id"] for link in links.items]

    def incident_alerts(self, incident_id: str) -> list[Alert]:
        ids = self._member_ids(incident_id)
        found = self.get_alerts(ids) if ids else {}
        return [found[i] for i in ids if i in found]  # in link order (by alert id)

    # -- rejected payloads -------------------------------------------------------------

    def record_rejected(self, rejected_id: str, reason: str, status_code: int, body: bytes, *,
                        driver: str, path: str, content_type: str) -> None:
        packed = gzip.compress(body)
        truncated = False
        if len(packed) > MAX_STORED_BODY:
            packed, truncated = gzip.compress(body[: MAX_STORED_BODY * 2])[:MAX_STORED_BODY], True
        now = iso(utcnow())
        self.t.update(
            f"REJECTED#{rejected_id}", "META",
            "SET #type = :type, reason = :reason, status_code = :code, driver = :driver, #path = :path, "
            "content_type = :ct, body_gz = if_not_exists(body_gz, :body), body_bytes = :size, "
            "body_truncated = :trunc, first_seen = if_not_exists(first_seen, :now), last_seen = :now, "
            "GSI1PK = :g1, GSI1SK = :g1sk, expires_at = :exp ADD #count :one",
            names={"#type": "type", "#path": "path", "#count": "count"},
            values={":type": "rejected", ":reason": reason, ":code": status_code, ":driver": driver,
                    ":path": path, ":ct": content_type, ":body": packed, ":size": len(body),
                    ":trunc": truncated, ":now": now, ":g1": "REJECTED", ":g1sk": f"{now}#{rejected_id}",
                    ":exp": self.t.expiry(self.retention_days), ":one": 1},
            return_new=False,
        )

    @staticmethod
    def _rejected_from(item: dict[str, Any]) -> RejectedPayload:
        body = item.get("body_gz") or b""
        # A truncated body is a cut gzip stream: decompress what is there.
        text = zlib.decompressobj(wbits=31).decompress(body).decode("utf-8", "replace") if body else ""
        return RejectedPayload(
            id=item["PK"].split("#", 1)[1], reason=item.get("reason", ""), status_code=item.get("status_code", 400),
            driver=item.get("driver", ""), path=item.get("path", ""), content_type=item.get("content_type", ""),
            body=text, body_bytes=item.get("body_bytes", 0), body_truncated=item.get("body_truncated", False),
            count=item.get("count", 1), first_seen=item["first_seen"], last_seen=item["last_seen"],
        )

    def list_rejected(self, *, limit: int, next_token: str | None) -> Page:
        page = self.t.query_index("GSI1", "REJECTED",
                            limit=limit, next_token=next_token)
        page.items = [self._rejected_from(i) for i in page.items]
        return page

    def get_rejected(self, rejected_id: str) -> RejectedPayload | None:
        item = self.t.get(f"REJECTED#{rejected_id}", "META")
        return self._rejected_from(item) if item else None


__all__ = ["AlertStore", "DynamoAlertStore", "AlertStatus"]
