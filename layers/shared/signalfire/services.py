"""The composition root: the one place where concrete services are built.

Every cached factory of the process lives here, and only here.  Each Lambda
container (or the local stack) builds a service once, on first use; nothing
is built at import time (a boto3 client made at import escapes moto and
slows every cold start).  Logic modules never import this module: they take
their collaborators (the store interfaces, a launcher) as arguments; the
thin handlers and the stage runner ask this module for them.

Each factory imports the concrete classes it builds when it is first
called, not at the top of this module: every function imports this module,
and a function should load only the capabilities it uses (the stage
functions never load the HTTP drivers, jinja2 or httpx they do not call).
bench/cold_start.py measures it; docs/build.md has the figures.

Tests call :func:`reset` between cases.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from signalfire import aws
from signalfire.settings import get_settings

if TYPE_CHECKING:
    from signalfire.alerts.incidents import AlertQueries, IncidentManager
    from signalfire.alerts.store import AlertStore
    from signalfire.alerts.webhooks import WebhookService
    from signalfire.auth import TokenVerifier
    from signalfire.checks.bridge import CheckAlertBridge
    from signalfire.checks.service import CheckInService, CheckQueries, SilentHostSweep
    from signalfire.checks.store import CheckStore
    from signalfire.intelligence.hosts import HostContextSource
    from signalfire.intelligence.keys import KeyResolver
    from signalfire.intelligence.service import IntelligenceService
    from signalfire.intelligence.store import IntelligenceStore
    from signalfire.notify.service import NotifyService
    from signalfire.notify.store import ChannelStore, DeliveryStore
    from signalfire.pipelines.store import PipelineStore
    from signalfire.runs.launcher import RunLauncher
    from signalfire.runs.reconcile import Reconciler
    from signalfire.runs.store import RunStore
    from signalfire.store.dynamo import DynamoTable


@lru_cache(maxsize=1)
def table() -> DynamoTable:
    from signalfire.store.dynamo import DynamoTable

    return DynamoTable(get_settings().table_name)


@lru_cache(maxsize=1)
def alert_store() -> AlertStore:
    from signalfire.alerts.dynamo import DynamoAlertStore

    return DynamoAlertStore(table(), retention_days=get_settings().audit_retention_days)


@lru_cache(maxsize=1)
def run_store() -> RunStore:
    from signalfire.runs.dynamo import DynamoRunStore

    return DynamoRunStore(table(), retention_days=get_settings().audit_retention_days)


@lru_cache(maxsize=1)
def pipeline_store() -> PipelineStore:
    from signalfire.pipelines.dynamo import DynamoPipelineStore

    return DynamoPipelineStore(table(), get_settings().workflow_limits())


@lru_cache(maxsize=1)
def token_verifier() -> TokenVerifier:
    from signalfire.auth import TokenVerifier

    return TokenVerifier(get_settings())


@lru_cache(maxsize=1)
def launcher() -> RunLauncher:
    from signalfire.runs.launcher import RunLauncher

    return RunLauncher(run_store(), pipeline_store(), get_settings(), alert_store())


@lru_cache(maxsize=1)
def reconciler() -> Reconciler:
    from signalfire.runs.reconcile import Reconciler

    return Reconciler(launcher())


@lru_cache(maxsize=1)
def webhook_service() -> WebhookService:
    from signalfire.alerts.signatures import SignatureVerifier
    from signalfire.alerts.webhooks import WebhookService

    signatures = SignatureVerifier(token_verifier().signing_keys)
    settings = get_settings()
    return WebhookService(alert_store(), settings.max_body_bytes, launcher(), signatures,
                          quiet_period_seconds=settings.reopen_quiet_seconds)


@lru_cache(maxsize=1)
def alert_queries() -> AlertQueries:
    from signalfire.alerts.incidents import AlertQueries

    return AlertQueries(alert_store())


@lru_cache(maxsize=1)
def incidents() -> IncidentManager:
    from signalfire.alerts.incidents import IncidentManager

    return IncidentManager(alert_store())


@lru_cache(maxsize=1)
def intelligence_store() -> IntelligenceStore:
    from signalfire.intelligence.dynamo import DynamoIntelligenceStore

    return DynamoIntelligenceStore(table(), retention_days=get_settings().audit_retention_days)


@lru_cache(maxsize=1)
def host_contexts() -> HostContextSource:
    from signalfire.intelligence.hosts import CheckStoreHostContextSource

    return CheckStoreHostContextSource(check_store())


@lru_cache(maxsize=1)
def key_resolver() -> KeyResolver:
    from signalfire.intelligence.keys import KeyResolver

    return KeyResolver(max_age=get_settings().secret_cache_seconds)


@lru_cache(maxsize=1)
def intelligence() -> IntelligenceService:
    from signalfire.intelligence.service import IntelligenceService

    return IntelligenceService(intelligence_store(), alert_store(), host_contexts(), key_resolver(),
                               fallback_enabled=get_settings().intelligence_fallback_enabled)


@lru_cache(maxsize=1)
def channel_store() -> ChannelStore:
    from signalfire.notify.dynamo import DynamoChannelStore

    return DynamoChannelStore(table())


@lru_cache(maxsize=1)
def delivery_store() -> DeliveryStore:
    from signalfire.notify.dynamo import DynamoDeliveryStore

    return DynamoDeliveryStore(table(), retention_days=get_settings().audit_retention_days)


@lru_cache(maxsize=1)
def notify_service() -> NotifyService:
    from signalfire.notify.service import NotifyService

    return NotifyService(channel_store(), delivery_store())


@lru_cache(maxsize=1)
def api_notify_service() -> NotifyService:
    """For /notify/send/ and /notify/batch/: every call's timeout is capped so
    the answer comes well within API Gateway's 30 s."""
    from dataclasses import replace

    from signalfire.notify.channels import Runtime
    from signalfire.notify.service import NotifyService

    return NotifyService(channel_store(), delivery_store(), replace(Runtime.from_env(), timeout_cap=8.0))


@lru_cache(maxsize=1)
def check_store() -> CheckStore:
    from signalfire.checks.dynamo import DynamoCheckStore

    return DynamoCheckStore(table(), retention_days=get_settings().audit_retention_days)


@lru_cache(maxsize=1)
def check_bridge() -> CheckAlertBridge:
    from signalfire.alerts.ingest import IngestService
    from signalfire.checks.bridge import CheckAlertBridge

    return CheckAlertBridge(IngestService(alert_store(), get_settings().reopen_quiet_seconds), launcher())


@lru_cache(maxsize=1)
def checkin_service() -> CheckInService:
    from signalfire.checks.service import CheckInService

    return CheckInService(check_store(), alert_store(), check_bridge())


@lru_cache(maxsize=1)
def check_queries() -> CheckQueries:
    from signalfire.checks.service import CheckQueries

    return CheckQueries(check_store(), get_settings().host_silent_multiple)


@lru_cache(maxsize=1)
def silent_host_sweep() -> SilentHostSweep:
    from signalfire.checks.service import SilentHostSweep

    return SilentHostSweep(check_store(), check_bridge(), get_settings().host_silent_multiple)


_FACTORIES = (get_settings, table, alert_store, run_store, pipeline_store, token_verifier, launcher,
              reconciler, webhook_service, alert_queries, incidents, intelligence_store, host_contexts, key_resolver,
              intelligence, channel_store, delivery_store, notify_service, api_notify_service, check_store,
              check_bridge, checkin_service, check_queries, silent_host_sweep)


def reset() -> None:
    """Forget every built service and client (tests start a fresh moto between cases)."""
    for factory in _FACTORIES:
        factory.cache_clear()
    aws.reset_clients()
