"""Run, stage, stage-output and delivery storage in DynamoDB.

=====================  ====================================  ==========================================
PK                     SK                                    what
=====================  ====================================  ==========================================
RUN#<run_id>           META                                  the run (GSI1 all, GSI2 status, GSI3 incident,
                                                             GSI4 open: only while it has no outcome)
RUN#<run_id>           STAGE#<index:03d>#<node>#<attempt:02d> one attempt of one stage (``-fallback``
                                                             suffix for the local-provider fallback)
RUN#<run_id>           OUT#<node_id>                         a stage's output (claim check)
RUN#<run_id>           DELIVERY#<node>#<channel>             a notification delivered (no duplicates)
=====================  ====================================  ==========================================

``index`` is the node's position in the compiled node list (0-based); the
ingest stage, which ran in the webhook Lambda, is index -1 (``STAGE#-01#ingest#01``,
which sorts before ``STAGE#000``) and its output is ``OUT#ingest``.  An output
reference is ``RUN#<run_id>/OUT#<node_id>`` (:func:`output_ref`); only such
references travel through the state machine.

Every item carries ``expires_at`` (AuditRetentionDays).
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from signalfire.errors import NotFoundError
from signalfire.runs.keys import ALL_RUNS, OPEN_RUNS, RUN_SK, incident_gsi, run_pk, status_gsi
from signalfire.runs.models import PipelineRun, StageExecution
from signalfire.runs.store import RunStore, output_ref, parse_output_ref
from signalfire.store.dynamo import DynamoTable, Page
from signalfire.store.exceptions import ConditionFailed
from signalfire.timeutil import iso, utcnow

# Outputs larger than this are gzip'd; DynamoDB items stop at 400 KB.
_INLINE_OUTPUT = 100 * 1024
_MAX_OUTPUT = 350 * 1024


def _stage_sk(index: int, node_id: str, attempt: int, fallback: bool = False) -> str:
    return f"STAGE#{index:03d}#{node_id}#{attempt:02d}{'-fallback' if fallback else ''}"


def run_item(run: PipelineRun, expires_at: int) -> dict[str, Any]:
    """The run's META item (also written by the alert store, in the same
    transaction as the alert change that owes the run)."""
    data = run.model_dump(mode="json")
    sk = f"{iso(run.created_at)}#{run.run_id}"
    data.update(PK=run_pk(run.run_id), SK=RUN_SK, type="run", GSI1PK=ALL_RUNS, GSI1SK=sk,
                GSI2PK=status_gsi(run.status.value), GSI2SK=sk, expires_at=expires_at)
    if run.incident_id:
        data.update(GSI3PK=incident_gsi(run.incident_id), GSI3SK=sk)
    if not run.outcome:
        data.update(GSI4PK=OPEN_RUNS, GSI4SK=sk)
    return data


class DynamoRunStore(RunStore):
    def __init__(self, table: DynamoTable, retention_days: int = 90) -> None:
        self.t = table
        self.retention_days = retention_days

    # -- runs ---------------------------------------------------------------------------

    def create_run(self, run: PipelineRun) -> None:
        self.t.put(run_item(run, self.t.expiry(self.retention_days)), condition="attribute_not_exists(PK)")

    def get_run(self, run_id: str) -> PipelineRun:
        item = self.t.get(run_pk(run_id), RUN_SK)
        if item is None:
            raise NotFoundError(f"no run with id {run_id!r}")
        return PipelineRun.from_item(item)

    def update_run(self, run_id: str, fields: dict[str, Any], *, condition: str | None = None,
                   values: dict[str, Any] | None = None, add: dict[str, int] | None = None,
                   names: dict[str, str] | None = None) -> None:
        fields = {**fields, "updated_at": iso(utcnow())}
        if "status" in fields:
            fields["GSI2PK"] = status_gsi(fields["status"])
        closing = bool(fields.get("outcome"))
        if "outcome" in fields and not closing:  # a resume clears the outcome: open again
            fields["GSI4PK"] = OPEN_RUNS
        names_used = {f"#f{i}": k for i, k in enumerate(fields)}
        vals = {f":f{i}": v for i, v in enumerate(fields.values())}
        expr = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        if "GSI4PK" in fields:
            expr += ", GSI4SK = GSI1SK"
        if add:
            for j, (k, v) in enumerate(add.items()):
                names_used[f"#a{j}"] = k
                vals[f":a{j}"] = v
            expr += " ADD " + ", ".join(f"#a{j} :a{j}" for j in range(len(add)))
        if closing:  # an outcome closes the run: out of the open-runs index
            expr += " REMOVE GSI4PK, GSI4SK"
        # No caller reads the item back: ReturnValues NONE (smaller answers; locally, no serializing it).
        self.t.update(run_pk(run_id), RUN_SK, expr, condition=condition or "attribute_exists(PK)",
                      names={**names_used, **(names or {})}, values={**vals, **(values or {})}, return_new=False)

    def list_runs(self, *, status: str | None, incident_id: str | None, since: str | None, limit: int,
                  next_token: str | None) -> Page:
        filters: dict[str, Any] = {}
        if incident_id:
            index, pk = "GSI3", incident_gsi(incident_id)
            if status:
                filters["status"] = status
        elif status:
            index, pk = "GSI2", status_gsi(status)
        else:
            index, pk = "GSI1", ALL_RUNS
        page = self.t.query_index(index, pk, sk_from=since,
                            limit=limit, next_token=next_token, filters=filters)
        page.items = [PipelineRun.from_item(i) for i in page.items]
        return page

    def open_runs(self) -> list[str]:
        """Ids of the runs with no outcome yet, oldest first: one read of the
        sparse open-runs index (keys only), whatever the history holds."""
        found: list[str] = []
        token = None
        while True:
            page = self.t.query_index("GSI4", OPEN_RUNS, limit=1000, next_token=token, newest_first=False)
            found += [str(item["PK"]).removeprefix(run_pk("")) for item in page.items]
            token = page.next_token
            if not token:
                return found

    # -- stages -------------------------------------------------------------------------

    def _stage_item(self, stage: StageExecution) -> dict[str, Any]:
        data = stage.model_dump(mode="json")
        data.update(PK=run_pk(stage.run_id), SK=_stage_sk(stage.index, stage.node_id, stage.attempt, stage.fallback),
                    type="stage", expires_at=self.t.expiry(self.retention_days))
        return data

    def put_stage(self, stage: StageExecution) -> None:
        self.t.put(self._stage_item(stage))

    def stages(self, run_id: str) -> list[StageExecution]:
        page = self.t.query(pk_name="PK", pk=run_pk(run_id), sk_name="SK", sk_prefix="STAGE#", limit=1000,
                            newest_first=False, consistent=True)
        return [StageExecution.model_validate({k: v for k, v in i.items() if k in StageExecution.model_fields})
                for i in page.items]

    # -- outputs (claim check) ------------------------------------------------------------

    def put_output(self, run_id: str, index: int, node_id: str, node_type: str, output: dict[str, Any],
                   stage: StageExecution | None = None) -> str:
        """Store a stage's output; with ``stage`` (its finished StageExecution,
        whose ``output_ref`` is :meth:`output_ref`), both in one BatchWriteItem:
        two unconditional puts, the same WCU as two PutItems, one round trip
        (docs/cost.md)."""
        sk = f"OUT#{node_id}"
        raw = json.dumps(output, default=str, separators=(",", ":")).encode()
        item: dict[str, Any] = {"PK": run_pk(run_id), "SK": sk, "type": "stage_output", "node_id": node_id,
                                "node_type": node_type, "index": index, "bytes": len(raw),
                                "expires_at": self.t.expiry(self.retention_days)}
        if len(raw) <= _INLINE_OUTPUT:
            item["data"] = raw.decode()
        else:
            packed = gzip.compress(raw)
            if len(packed) > _MAX_OUTPUT:
                packed = gzip.compress(json.dumps({"truncated": True, "bytes": len(raw)}).encode())
            item["data_gz"] = packed
        if stage is None:
            self.t.put(item)
        else:
            self.t.batch_put([item, self._stage_item(stage)])
        return output_ref(run_id, node_id)

    @staticmethod
    def _decode(item: dict[str, Any]) -> dict[str, Any]:
        data_gz = item.get("data_gz")
        if data_gz is not None and not isinstance(data_gz, bytes):
            data_gz = bytes(getattr(data_gz, "value", data_gz))
        raw = item.get("data") or (gzip.decompress(data_gz).decode() if data_gz else "{}")
        return dict(json.loads(raw))

    def _output_items(self, run_id: str) -> list[dict[str, Any]]:
        page = self.t.query(pk_name="PK", pk=run_pk(run_id), sk_name="SK", sk_prefix="OUT#", limit=1000,
                            newest_first=False, consistent=True)
        return sorted(page.items, key=lambda i: int(i.get("index", 0)))

    def get_outputs(self, refs: dict[str, str]) -> dict[str, dict[str, Any]]:
        """The outputs that ``refs`` (node id -> reference, as the state machine
        carries them) point at, in the order given.  A missing item is left out."""
        keys = [parse_output_ref(ref) for ref in refs.values()]
        if not keys:
            return {}
        return self.outputs_from(refs, {(i["PK"], i["SK"]): i for i in self.t.batch_get(keys)})

    def outputs_from(self, refs: dict[str, str], items: dict[tuple[str, str], dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """:meth:`get_outputs` from items read already (by ``(PK, SK)``)."""
        keys = [parse_output_ref(ref) for ref in refs.values()]
        return {node: self._decode(items[key]) for node, key in zip(refs, keys, strict=True) if key in items}

    def outputs(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Every stored stage output of a run, by node id (in run order)."""
        return {item["node_id"]: self._decode(item) for item in self._output_items(run_id)}

    def output_refs(self, run_id: str) -> dict[str, str]:
        """References to every stored stage output, by node id (in run order)."""
        return {item["node_id"]: output_ref(run_id, item["node_id"]) for item in self._output_items(run_id)}

    # -- deliveries -----------------------------------------------------------------------

    def delivered(self, run_id: str, node_id: str, channel: str) -> dict[str, Any] | None:
        return self.t.get(run_pk(run_id), f"DELIVERY#{node_id}#{channel}")

    def record_delivery(self, run_id: str, node_id: str, channel: str, result: dict[str, Any]) -> bool:
        """Remember a successful delivery; False if one was recorded already."""
        try:
            self.t.put({"PK": run_pk(run_id), "SK": f"DELIVERY#{node_id}#{channel}", "type": "delivery",
                        "channel": channel, "node_id": node_id, "delivered_at": iso(utcnow()),
                        "message_id": result.get("message_id") or "", "expires_at": self.t.expiry(self.retention_days)},
                       condition="attribute_not_exists(PK)")
            return True
        except ConditionFailed:
            return False
