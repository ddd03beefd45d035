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
from datetime import timedelta
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
    Severity,
)
from signalfire.alerts.store import AlertStore
from signalfire.errors import ConcurrentUpdateError, ItemTooLargeError
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
        self.retention = timedelta(days=retention_days)

    def _expiry(self) -> int:
        return int((utcnow() + self.retention).timestamp())

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
                    type="alert_history", expires_at=self._expiry())
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

    def _link_actions(self, alert: Alert, incident: Incident, firing: int) -> list[dict[str, Any]]:
        now = iso(utcnow())
        return [
            self.t.tx_put({"PK": f"INCIDENT#{incident.id}", "SK": f"ALERT#{alert.id}", "type": "incident_alert",
                           "alert_id": alert.id, "linked_at": now}),
            self.t.tx_update(
                f"INCIDENT#{incident.id}", "META",
                "SET alert_count = alert_count + :one, firing_alert_count = firing_alert_count + :f, updated_at = :now",
                condition="attribute_exists(PK)",
                values={":one": 1, ":f": firing, ":now": now},
            ),
        ]

    def create_alert(self, alert: Alert, history: AlertHistory, incident: Incident | None) -> None:
        actions = [
            self.t.tx_put(self._alert_item(alert), condition="attribute_not_exists(PK)"),
            self.t.tx_put(self._history_item(history)),
        ]
        if incident is not None:
            actions += self._link_actions(alert, incident, 1 if alert.is_firing else 0)
        self.t.transact(actions)

    def update_alert(self, alert: Alert, expected_version: int, history: AlertHistory,
                     attach_to: Incident | None, firing_delta: dict[str, int]) -> None:
        actions = [
            self.t.tx_put(self._alert_item(alert), condition="version = :v", values={":v": expected_version}),
            self.t.tx_put(self._history_item(history)),
        ]
        if attach_to is not None:
            actions += self._link_actions(alert, attach_to, 1 if alert.is_firing else 0)
        now = iso(utcnow())
        for incident_id, delta in firing_delta.items():
            if delta == 0 or (attach_to is not None and incident_id == attach_to.id):
                continue
            actions.append(self.t.tx_update(
                f"INCIDENT#{incident_id}", "META",
                "SET firing_alert_count = firing_alert_count + :d, updated_at = :now",
                condition="attribute_exists(PK)", values={":d": delta, ":now": now},
            ))
        self.t.transact(actions)

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

    def open_incident_for_group(self, candidate: Incident) -> tuple[Incident, bool]:
        for _ in range(5):
            pointer = self.t.get(f"GROUP#{candidate.group_id}", "OPEN")
            if pointer:
                found = self.get_incident(pointer["incident_id"])
                if found and found.is_open:
                    return found, False
                # A stale pointer (incident resolved meanwhile): replace it only if unchanged.
                try:
                    self.t.transact([
                        self.t.tx_put({"PK": f"GROUP#{candidate.group_id}", "SK": "OPEN",
                                       "incident_id": candidate.id, "type": "group_pointer"},
                                      condition="incident_id = :old", values={":old": pointer["incident_id"]}),
                        self.t.tx_put(self._incident_item(candidate), condition="attribute_not_exists(PK)"),
                    ])
                    return candidate, True
                except ConditionFailed:
                    continue
            try:
                self.t.transact([
                    self.t.tx_put({"PK": f"GROUP#{candidate.group_id}", "SK": "OPEN",
                                   "incident_id": candidate.id, "type": "group_pointer"},
                                  condition="attribute_not_exists(PK)"),
                    self.t.tx_put(self._incident_item(candidate), condition="attribute_not_exists(PK)"),
                ])
                return candidate, True
            except ConditionFailed:
                continue
        raise ConcurrentUpdateError("could not settle the open incident for an alert group; retry")

    def escalate_incident(self, incident_id: str, severity: Severity) -> bool:
        lower = [s.value for s in Severity if s.rank < severity.rank]
        if not lower:
            return False
        placeholders = {f":s{i}": v for i, v in enumerate(lower)}
        try:
            self.t.update(
                f"INCIDENT#{incident_id}", "META", "SET severity = :sev, updated_at = :now",
                condition=f"severity IN ({', '.join(placeholders)}) AND #st IN (:open, :ack)",
                names={"#st": "status"},
                values={":sev": severity.value, ":now": iso(utcnow()), ":open": "open", ":ack": "acknowledged",
                        **placeholders},
                return_new=False,
            )
            return True
        except ConditionFailed:
            return False

    def _status_changes(self, status: IncidentStatus, changes: dict[str, Any]) -> tuple[str, dict]:
        changes = {**changes, "status": status.value, "updated_at": iso(utcnow()),
                   "GSI2PK": f"INCIDENTS#STATUS#{status.value}"}
        names = {f"#c{i}": k for i, k in enumerate(changes)}
        values = {f":c{i}": v for i, v in enumerate(changes.values())}
        expr = "SET " + ", ".join(f"#c{i} = :c{i}" for i in range(len(changes)))
        return expr, {"names": names, "values": values}

    def resolve_incident_if_clear(self, incident_id: str) -> Incident | None:
        now = iso(utcnow())
        expr, parts = self._status_changes(IncidentStatus.RESOLVED, {"resolved_at": now})
        try:
            item = self.t.update(
                f"INCIDENT#{incident_id}", "META", expr,
                condition="firing_alert_count <= :zero AND #cst IN (:open, :ack)",
                names={**parts["names"], "#cst": "status"},
                values={**parts["values"], ":zero": 0, ":open": "open", ":ack": "acknowledged"},
            )
        except ConditionFailed:
            return None
        incident = self._incident_from(item or {})
        self._release_group(incident)
        return incident

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

    def incident_alerts(self, incident_id: str) -> list[Alert]:
        links = self.t.query(pk_name="PK", pk=f"INCIDENT#{incident_id}", sk_name="SK", sk_prefix="ALERT#",
                             limit=1000, newest_first=False, consistent=True)
        ids = [link["alert_id"] for link in links.items]
        found = self.get_alerts(ids) if ids else {}
        return [found[i] for i in ids if i in found]  # in the order they joined

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
                    ":exp": self._expiry(), ":one": 1},
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
