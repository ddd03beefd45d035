"""Run, stage, stage-output and delivery storage.

=====================  ====================================  ==========================================
PK                     SK                                    what
=====================  ====================================  ==========================================
RUN#<run_id>           META                                  the run (GSI1 all, GSI2 status, GSI3 incident)
RUN#<run_id>           STAGE#<index>#<node>#<attempt>        one attempt of one stage
RUN#<run_id>           OUT#<index>#<node>                    a stage's output (claim check)
RUN#<run_id>           DELIVERY#<node>#<channel>             a notification delivered (no duplicates)
=====================  ====================================  ==========================================

Every item carries ``expires_at`` (AuditRetentionDays).
"""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from typing import Any

from signalfire.errors import NotFoundError
from signalfire.runs.models import PipelineRun, StageExecution
from signalfire.store.dynamo import DynamoTable, Page
from signalfire.store.exceptions import ConditionFailed
from signalfire.timeutil import iso, utcnow

# Outputs larger than this are gzip'd; DynamoDB items stop at 400 KB.
_INLINE_OUTPUT = 100 * 1024
_MAX_OUTPUT = 350 * 1024


def position(index: int) -> str:
    """Sort key of a node position; the ingest stage (index -1) sorts first."""
    return "000" if index < 0 else f"{index + 1:03d}"


def _stage_sk(index: int, node_id: str, attempt: int, fallback: bool = False) -> str:
    return f"STAGE#{position(index)}#{node_id}#{attempt:02d}{'-fallback' if fallback else ''}"


class DynamoRunStore:
    def __init__(self, table: DynamoTable, retention_days: int = 90) -> None:
        self.t = table
        self.retention = timedelta(days=retention_days)

    def _expiry(self) -> int:
        return int((utcnow() + self.retention).timestamp())

    # -- runs ---------------------------------------------------------------------------

    def create_run(self, run: PipelineRun) -> None:
        data = run.model_dump(mode="json")
        sk = f"{iso(run.created_at)}#{run.run_id}"
        data.update(PK=f"RUN#{run.run_id}", SK="META", type="run", GSI1PK="RUNS", GSI1SK=sk,
                    GSI2PK=f"RUNS#STATUS#{run.status.value}", GSI2SK=sk, expires_at=self._expiry())
        if run.incident_id:
            data.update(GSI3PK=f"RUNS#INCIDENT#{run.incident_id}", GSI3SK=sk)
        self.t.put(data, condition="attribute_not_exists(PK)")

    def get_run(self, run_id: str) -> PipelineRun:
        item = self.t.get(f"RUN#{run_id}", "META")
        if item is None:
            raise NotFoundError(f"no run with id {run_id!r}")
        return PipelineRun.from_item(item)

    def update_run(self, run_id: str, fields: dict[str, Any], *, condition: str | None = None,
                   values: dict[str, Any] | None = None, add: dict[str, int] | None = None,
                   names: dict[str, str] | None = None) -> dict[str, Any]:
        fields = {**fields, "updated_at": iso(utcnow())}
        if "status" in fields:
            fields["GSI2PK"] = f"RUNS#STATUS#{fields['status']}"
        names_used = {f"#f{i}": k for i, k in enumerate(fields)}
        vals = {f":f{i}": v for i, v in enumerate(fields.values())}
        expr = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        if add:
            for j, (k, v) in enumerate(add.items()):
                names_used[f"#a{j}"] = k
                vals[f":a{j}"] = v
            expr += " ADD " + ", ".join(f"#a{j} :a{j}" for j in range(len(add)))
        return self.t.update(f"RUN#{run_id}", "META", expr, condition=condition or "attribute_exists(PK)",
                             names={**names_used, **(names or {})}, values={**vals, **(values or {})}) or {}

    def list_runs(self, *, status: str | None, incident_id: str | None, since: str | None, limit: int,
                  next_token: str | None) -> Page:
        filters: dict[str, Any] = {}
        if incident_id:
            index, pk = "GSI3", f"RUNS#INCIDENT#{incident_id}"
            if status:
                filters["status"] = status
        elif status:
            index, pk = "GSI2", f"RUNS#STATUS#{status}"
        else:
            index, pk = "GSI1", "RUNS"
        n = index[-1]
        page = self.t.query(pk_name=f"GSI{n}PK", pk=pk, index=index, sk_name=f"GSI{n}SK", sk_from=since,
                            limit=limit, next_token=next_token, filters=filters)
        page.items = [PipelineRun.from_item(i) for i in page.items]
        return page

    # -- stages -------------------------------------------------------------------------

    def put_stage(self, stage: StageExecution) -> None:
        data = stage.model_dump(mode="json")
        data.update(PK=f"RUN#{stage.run_id}", SK=_stage_sk(stage.index, stage.node_id, stage.attempt, stage.fallback),
                    type="stage", expires_at=self._expiry())
        self.t.put(data)

    def stages(self, run_id: str) -> list[StageExecution]:
        page = self.t.query(pk_name="PK", pk=f"RUN#{run_id}", sk_name="SK", sk_prefix="STAGE#", limit=1000,
                            newest_first=False, consistent=True)
        return [StageExecution.model_validate({k: v for k, v in i.items() if k in StageExecution.model_fields})
                for i in page.items]

    # -- outputs (claim check) ------------------------------------------------------------

    @staticmethod
    def output_ref(run_id: str, index: int, node_id: str) -> str:
        return f"RUN#{run_id}/OUT#{position(index)}#{node_id}"

    def put_output(self, run_id: str, index: int, node_id: str, node_type: str, output: dict[str, Any]) -> str:
        sk = f"OUT#{position(index)}#{node_id}"
        raw = json.dumps(output, default=str, separators=(",", ":")).encode()
        item: dict[str, Any] = {"PK": f"RUN#{run_id}", "SK": sk, "type": "stage_output", "node_id": node_id,
                                "node_type": node_type, "index": index, "bytes": len(raw),
                                "expires_at": self._expiry()}
        if len(raw) <= _INLINE_OUTPUT:
            item["data"] = raw.decode()
        else:
            packed = gzip.compress(raw)
            if len(packed) > _MAX_OUTPUT:
                packed = gzip.compress(json.dumps({"truncated": True, "bytes": len(raw)}).encode())
            item["data_gz"] = packed
        self.t.put(item)
        return self.output_ref(run_id, index, node_id)

    def outputs(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Every stored stage output of a run, by node id (in run order)."""
        page = self.t.query(pk_name="PK", pk=f"RUN#{run_id}", sk_name="SK", sk_prefix="OUT#", limit=1000,
                            newest_first=False, consistent=True)
        found: dict[str, dict[str, Any]] = {}
        for item in page.items:
            raw = item.get("data") or (gzip.decompress(item["data_gz"]).decode() if item.get("data_gz") else "{}")
            found[item["node_id"]] = json.loads(raw)
        return found

    # -- deliveries -----------------------------------------------------------------------

    def delivered(self, run_id: str, node_id: str, channel: str) -> dict[str, Any] | None:
        return self.t.get(f"RUN#{run_id}", f"DELIVERY#{node_id}#{channel}")

    def record_delivery(self, run_id: str, node_id: str, channel: str, result: dict[str, Any]) -> bool:
        """Remember a successful delivery; False if one was recorded already."""
        try:
            self.t.put({"PK": f"RUN#{run_id}", "SK": f"DELIVERY#{node_id}#{channel}", "type": "delivery",
                        "channel": channel, "node_id": node_id, "delivered_at": iso(utcnow()),
                        "message_id": result.get("message_id") or "", "expires_at": self._expiry()},
                       condition="attribute_not_exists(PK)")
            return True
        except ConditionFailed:
            return False
