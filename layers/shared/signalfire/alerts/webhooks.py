"""The webhook entry point: bytes in, a 202 answer (or a clear 4xx) out.

Every body we refuse is kept with its reason (``GET /alerts/rejected/``);
identical re-sends of the same bad body increment one record's count.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from pydantic import Field

from signalfire.alerts.drivers import parse_webhook
from signalfire.alerts.ingest import IngestOutcome, IngestService, RunPlan
from signalfire.alerts.signatures import SignatureVerifier
from signalfire.alerts.store import AlertStore
from signalfire.errors import (
    InvalidJSONError,
    NotFoundError,
    PayloadTooLargeError,
    SignalfireError,
)
from signalfire.models import Model
from signalfire.observability import logger


class RunStarter(Protocol):
    """Starts pipeline runs for what a webhook changed (runs/launcher.py)."""

    def plan_for(self, source: str, query_pipeline: str | None) -> RunPlan:
        """The pipeline the runs will run and how they are born (INGESTED, started
        by this webhook); refuses an unknown or inactive one before anything is stored."""

    def start_for(self, outcome: IngestOutcome) -> list[str]:
        """Start the runs ``outcome`` was born with or owes; returns their ids."""


class WebhookRequest(Model):
    body: bytes
    driver: str | None = None
    pipeline: str | None = None
    path: str = ""
    content_type: str = ""
    headers: dict[str, str] = Field(default_factory=dict)


class WebhookAccepted(Model):
    status: str = "accepted"
    source: str
    alerts_created: int
    alerts_updated: int
    alerts_resolved: int
    alerts_unchanged: int
    incidents_created: int
    incidents_updated: int
    incidents_resolved: int
    alerts: list[dict[str, Any]] = Field(default_factory=list)
    incidents: list[dict[str, Any]] = Field(default_factory=list)
    run_ids: list[str] = Field(default_factory=list)


#: Deeper JSON is refused before any driver walks it (Python's recursion
#: limit, not DynamoDB's, is the danger: raw payloads are stored as bytes).
MAX_JSON_DEPTH = 64


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests (iteratively: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def parse_json_body(body: bytes, what: str = "body") -> Any:
    """A request body as JSON, or a 400 saying why not (not UTF-8, not JSON,
    nested too deeply)."""
    try:
        value = json.loads(body.decode("utf-8-sig"))  # a leading BOM is tolerated, as json.loads(bytes) did
    except UnicodeDecodeError as exc:
        raise InvalidJSONError(f"{what} is not UTF-8 text; send JSON") from exc
    except json.JSONDecodeError as exc:
        raise InvalidJSONError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError:
        raise InvalidJSONError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise InvalidJSONError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def rejected_id(path: str, body: bytes) -> str:
    return hashlib.sha256(path.encode() + b"\x00" + body).hexdigest()[:40]


class WebhookService:
    def __init__(self, store: AlertStore, max_body_bytes: int, start_runs: RunStarter | None = None,
                 signatures: SignatureVerifier | None = None, quiet_period_seconds: int = 14400) -> None:
        self.store = store
        self.signatures = signatures
        self.ingest = IngestService(store, quiet_period_seconds)
        self.max_body_bytes = max_body_bytes
        self.start_runs = start_runs

    def receive(self, req: WebhookRequest) -> WebhookAccepted:
        try:
            payload = self._decode(req)
            parsed = parse_webhook(payload, driver=req.driver)
            if self.signatures is not None:
                self.signatures.verify(parsed.source, req.headers, req.body)
            plan = None
            if self.start_runs is not None:  # an unknown ?pipeline= is refused before anything is stored
                plan = self.start_runs.plan_for(parsed.source, req.pipeline)
            self.store.check_storable(parsed)
        except SignalfireError as exc:
            if exc.http_status < 500 and exc.http_status != 401:
                self._keep(req, exc)
            raise
        outcome = self.ingest.process(parsed, plan=plan)
        run_ids = self.start_runs.start_for(outcome) if self.start_runs else []
        r = outcome.result
        logger.info("webhook ingested", extra={"source": parsed.source, "alerts": len(parsed.alerts),
                                               "alerts_created": r.alerts_created, "alerts_unchanged": r.alerts_unchanged,
                                               "run_ids": run_ids})
        return WebhookAccepted(
            source=parsed.source,
            alerts_created=r.alerts_created, alerts_updated=r.alerts_updated, alerts_resolved=r.alerts_resolved,
            alerts_unchanged=r.alerts_unchanged, incidents_created=r.incidents_created,
            incidents_updated=r.incidents_updated, incidents_resolved=r.incidents_resolved,
            alerts=[a.model_dump(mode="json") for a in outcome.alerts],
            incidents=[i.model_dump(mode="json") for i in outcome.incidents],
            run_ids=run_ids,
        )

    def _decode(self, req: WebhookRequest) -> Any:
        if len(req.body) > self.max_body_bytes:
            raise PayloadTooLargeError(
                f"body is {len(req.body)} bytes; the limit is {self.max_body_bytes} bytes (MaxBodyBytes)")
        if not req.body.strip():
            raise InvalidJSONError("empty body: send the alert as a JSON object")
        return parse_json_body(req.body)

    def _keep(self, req: WebhookRequest, exc: SignalfireError) -> None:
        if isinstance(exc, NotFoundError) and not req.body:
            return
        try:
            self.store.record_rejected(
                rejected_id(req.path, req.body), exc.message, exc.http_status, req.body,
                driver=req.driver or "", path=req.path, content_type=req.content_type,
            )
        except SignalfireError:
            # The store is down: the sender gets its 4xx anyway; we say so in the log.
            logger.exception("could not keep a rejected payload", extra={"reason": exc.message})
