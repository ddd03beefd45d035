"""Intelligence: provider configuration as data, and analyses.

Which provider analyses (seed: get_provider / get_active_provider): the
name asked for — a configured provider's name, or a type, which means the
active provider if it has that type, else the first configured one of that
type — else the active provider, else the local one.  ``local`` needs no
configuration; a configured item of type ``local`` tunes its settings.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field

from signalfire.alerts.models import Alert, Incident
from signalfire.alerts.store import AlertStore
from signalfire.errors import BadRequestError, ConfigurationError, NotFoundError, SignalfireError
from signalfire.intelligence.hosts import HostContextSource, hosts_of
from signalfire.intelligence.keys import KeyResolver, parse_ref
from signalfire.intelligence.models import (
    AnalysisRequest,
    AnalysisRun,
    DiskAnalysis,
    HostContext,
    IntelligenceProvider,
    MemoryAnalysis,
    Recommendation,
)
from signalfire.intelligence.providers import (
    PROVIDERS,
    BaseAIProvider,
    BaseProvider,
    describe_types,
    get_provider,
)
from signalfire.intelligence.providers.base import ProviderAnswer
from signalfire.intelligence.store import IntelligenceStore
from signalfire.models import Model
from signalfire.observability import logger
from signalfire.redaction import MASK, is_sensitive
from signalfire.timeutil import utcnow

ProviderType = Literal["local", "openai", "claude", "gemini", "copilot", "grok", "ollama", "mistral"]
#: An AI call made while an HTTP client waits (POST /intelligence/recommendations/)
#: must end inside the API function's timeout (25 s, itself under API Gateway's
#: 30 s), leaving time for the key lookup, the fallback and the records.
API_PROVIDER_TIMEOUT = 15.0
API_RESERVE_SECONDS = 7.0
MAX_PROVIDER_TIMEOUT = 100.0  # the analyze function's own timeout is 120 s


class ProviderInput(Model):
    """POST /intelligence/providers/ body (seed: IntelligenceProvider fields)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    provider: ProviderType
    config: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = False
    description: str = Field(default="", max_length=2000)


class ProviderUpdate(Model):
    """PUT /intelligence/providers/{name} body: any subset; a config value of
    ``***`` keeps the stored secret (what GET shows is redacted)."""

    model_config = ConfigDict(extra="forbid")

    provider: ProviderType | None = None
    config: dict[str, Any] | None = None
    is_active: bool | None = None
    description: str | None = Field(default=None, max_length=2000)


class ProviderOut(Model):
    """An IntelligenceProvider as the API shows it: sensitive config values are ``***``."""

    name: str
    provider: str
    config: dict[str, Any]
    is_active: bool
    description: str
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, item: IntelligenceProvider) -> ProviderOut:
        return cls.model_validate(item.public())


class ProviderKind(Model):
    provider: str
    default_model: str
    config_keys: list[str]
    default_base_url: str | None = None
    requires_key: bool | None = None


class ProvidersOverview(Model):
    """GET /intelligence/providers/: the types and the configured providers."""

    types: list[ProviderKind]
    providers: list[ProviderOut]
    active: str | None
    effective: str


class Health(Model):
    status: str
    providers: list[str]
    active: str | None
    active_type: str
    model_name: str
    fallback_enabled: bool


class AnalysisResult(Model):
    """What an analysis concluded (seed: AnalyzeResult, plus its audit facts)."""

    incident_id: str | None = None
    summary: str
    probable_cause: str
    confidence: float | None
    actions: list[str]
    recommendations: list[dict[str, Any]]
    provider: str
    provider_name: str = ""
    model_name: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    fallback_used: bool = False
    primary_error: dict[str, Any] | None = None
    analysis_run_id: str
    hosts_with_data: list[str] = Field(default_factory=list)
    hosts_without_data: list[str] = Field(default_factory=list)


def validate_config(provider: str, config: dict[str, Any]) -> dict[str, Any]:
    """Refuse what would fail at analysis time: unknown keys, a key reference
    the functions may not read, a bad URL or number.  BadRequestError (400)."""
    cls = PROVIDERS[provider]
    unknown = sorted(set(config) - set(cls.config_keys))
    if unknown:
        raise BadRequestError(f"{provider} config does not take {', '.join(unknown)}; it takes "
                              f"{', '.join(sorted(cls.config_keys))}")
    try:
        if config.get("api_key_ref"):
            parse_ref(str(config["api_key_ref"]))
    except ConfigurationError as exc:
        raise BadRequestError(exc.message) from None
    for key in ("api_key", "api_key_ref", "model", "base_url"):
        if key in config and not isinstance(config[key], str):
            raise BadRequestError(f"config.{key} must be a string")
    if config.get("base_url"):
        url = urlsplit(str(config["base_url"]))
        if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment:
            raise BadRequestError("config.base_url must be an http(s) URL with no query, e.g. "
                                  f"{getattr(cls, 'default_base_url', 'https://api.example.com/v1')}")
    numbers = {"timeout": (0.1, MAX_PROVIDER_TIMEOUT), "max_tokens": (1, 100_000), "top_n_processes": (1, 100),
               "large_file_threshold_mb": (0, 10_000_000), "old_file_days": (0, 36_500)}
    for key, (low, high) in numbers.items():
        if key in config:
            value = config[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
                raise BadRequestError(f"config.{key} must be a number from {low} to {high}")
    if "scan_paths" in config and not (isinstance(config["scan_paths"], list)
                                       and all(isinstance(p, str) for p in config["scan_paths"])):
        raise BadRequestError("config.scan_paths must be a list of paths")
    if "fallback" in config and not isinstance(config["fallback"], bool):
        raise BadRequestError("config.fallback must be true or false")
    return config


def notes_of(alerts: AlertStore, incident: Incident | None) -> list[str]:
    """The incident's notes (items of their own, oldest first), as text."""
    if incident is None or not incident.note_count:
        return []
    return [n.text for n in alerts.incident_notes(incident.id)]


def failing_checks(outputs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Non-OK results attached by an earlier check stage of the same run."""
    return [c for o in outputs.values() for c in o.get("checks", []) or []
            if isinstance(c, dict) and c.get("status") not in ("ok", None)]


class IntelligenceService:
    def __init__(self, store: IntelligenceStore, alerts: AlertStore, hosts: HostContextSource,
                 keys: KeyResolver | None = None, *, fallback_enabled: bool = True) -> None:
        self.store = store
        self.alerts = alerts
        self.hosts = hosts
        self.keys = keys or KeyResolver()
        self.fallback_enabled = fallback_enabled

    # -- configuration -------------------------------------------------------------------

    def overview(self) -> ProvidersOverview:
        providers = self.store.list_providers()
        active = next((p.name for p in providers if p.is_active), None)
        return ProvidersOverview.model_validate({
            "types": describe_types(), "providers": [p.public() for p in providers], "active": active,
            "effective": active or "local"})

    def get(self, name: str) -> IntelligenceProvider:
        return self.store.get_provider(name)

    def create(self, body: ProviderInput) -> IntelligenceProvider:
        validate_config(body.provider, body.config)
        item = IntelligenceProvider(name=body.name, provider=body.provider, config=body.config,
                                    is_active=body.is_active, description=body.description)
        created = self.store.create_provider(item)
        logger.info("intelligence provider created", extra={"provider": created.public()})
        return created

    def update(self, name: str, body: ProviderUpdate) -> IntelligenceProvider:
        current = self.store.get_provider(name)
        kind = body.provider or current.provider
        config = current.config if body.config is None else {
            k: (current.config.get(k) if v == MASK and is_sensitive(k) else v) for k, v in body.config.items()}
        validate_config(kind, config)
        updated = current.model_copy(update={
            "provider": kind, "config": config, "updated_at": utcnow(),
            "description": current.description if body.description is None else body.description})
        self.store.update_provider(updated)
        if body.is_active is True:
            self.store.activate(name)
        elif body.is_active is False:
            self.store.deactivate(name)
        result = self.store.get_provider(name)
        logger.info("intelligence provider updated", extra={"provider": result.public()})
        return result

    def delete(self, name: str) -> None:
        self.store.delete_provider(name)
        logger.info("intelligence provider deleted", extra={"provider_name": name})

    def unknown_providers(self, names: list[str]) -> list[str]:
        """The names that are neither a provider type nor a configured provider."""
        missing = [n for n in names if n not in PROVIDERS]
        if not missing:
            return []
        configured = {p.name for p in self.store.list_providers()}
        return [n for n in missing if n not in configured]

    # -- choosing a provider -------------------------------------------------------------

    def _build(self, item: IntelligenceProvider | None, kind: str, timeout_cap: float | None) -> BaseProvider:
        config = item.config if item else {}
        name = item.name if item else ""
        if issubclass(PROVIDERS[kind], BaseAIProvider):
            return get_provider(kind, config, configured_name=name, keys=self.keys, timeout_cap=timeout_cap)
        return get_provider(kind, config, configured_name=name)

    def resolve(self, name: str | None, *, timeout_cap: float | None = None) -> BaseProvider:
        """The provider for ``name`` (configured name or type), else the active one, else local.
        ConfigurationError when the name fits nothing usable."""
        if name:
            try:
                item = self.store.get_provider(name)
                return self._build(item, item.provider, timeout_cap)
            except NotFoundError:
                pass
            if name not in PROVIDERS:
                raise ConfigurationError(f"no intelligence provider named {name!r} and no provider type by that "
                                         f"name (types: {', '.join(PROVIDERS)})")
            active = self.store.active_provider()
            if active and active.provider == name:
                return self._build(active, name, timeout_cap)
            same = [p for p in self.store.list_providers() if p.provider == name]
            if same:
                return self._build(same[0], name, timeout_cap)
            if name == "local":
                return self._build(None, "local", None)
            raise ConfigurationError(f"provider type {name!r} is named but no {name} provider is configured: "
                                     "POST /intelligence/providers/ with its api_key_ref first")
        active = self.store.active_provider()
        if active:
            return self._build(active, active.provider, timeout_cap)
        return self.local(active=None)

    def local(self, *, active: IntelligenceProvider | None | bool = True) -> BaseProvider:
        """The local provider, with the settings of a configured ``local`` item if
        there is one (the active one first).  ``active``: the active provider if
        the caller has read it already (``True``: read it here)."""
        if active is True:
            active = self.store.active_provider()
        if isinstance(active, IntelligenceProvider) and active.provider == "local":
            return self._build(active, "local", None)
        items = [p for p in self.store.list_providers() if p.provider == "local"]
        return self._build(items[0] if items else None, "local", None)

    # -- analysing -----------------------------------------------------------------------

    def host_contexts(self, hostnames: list[str]) -> tuple[list[HostContext], list[str]]:
        found: list[HostContext] = []
        missing: list[str] = []
        for host in hostnames[:5]:
            ctx = self.hosts.latest(host)
            if ctx is not None and ctx.has_data:
                found.append(ctx)
            else:
                missing.append(host)
        return found, missing

    def build_request(self, incident: Incident | None, alerts: list[Alert], *,
                      checks: list[dict[str, Any]] | None = None, analysis_type: str = "incident") -> AnalysisRequest:
        hosts, missing = self.host_contexts(hosts_of(alerts))
        return AnalysisRequest(incident=incident, alerts=alerts, notes=notes_of(self.alerts, incident), hosts=hosts,
                               hosts_without_data=missing, checks=checks or [], analysis_type=analysis_type)

    def run(self, provider: BaseProvider, request: AnalysisRequest, *, trace_id: str = "", pipeline_run_id: str = "",
            fallback_used: bool = False, checker_output_ref: str = "",
            primary_error: dict[str, Any] | None = None) -> AnalysisResult:
        audit, answer = provider.run(request, trace_id=trace_id, pipeline_run_id=pipeline_run_id,
                                     fallback_used=fallback_used, checker_output_ref=checker_output_ref,
                                     record=self.store.put_analysis)
        return self._result(request, provider, audit, answer, primary_error)

    @staticmethod
    def _result(request: AnalysisRequest, provider: BaseProvider, audit: AnalysisRun, answer: ProviderAnswer,
                primary_error: dict[str, Any] | None) -> AnalysisResult:
        a = answer.analysis
        return AnalysisResult(
            incident_id=request.incident_id, summary=a.summary, probable_cause=a.probable_cause,
            confidence=a.confidence, actions=a.actions, recommendations=[r.to_dict() for r in a.recommendations],
            provider=provider.name, provider_name=provider.configured_name, model_name=audit.model_name,
            prompt_tokens=audit.prompt_tokens, completion_tokens=audit.completion_tokens,
            total_tokens=audit.total_tokens, fallback_used=audit.fallback_used, primary_error=primary_error,
            analysis_run_id=audit.id, hosts_with_data=[h.hostname for h in request.hosts],
            hosts_without_data=request.hosts_without_data)

    def analyze_incident(self, incident_id: str, provider: str | None = None, *, trace_id: str = "",
                         remaining_seconds: float | None = None) -> AnalysisResult:
        """POST /intelligence/recommendations/: analyse now, falling back to the
        local provider in-process (the state machine does it for pipeline runs).
        The AI call is capped at API_PROVIDER_TIMEOUT, and to what the caller's
        remaining time allows minus API_RESERVE_SECONDS."""
        incident = self.alerts.get_incident(incident_id)
        if incident is None:
            raise NotFoundError(f"no incident with id {incident_id!r}")
        request = self.build_request(incident, self.alerts.incident_alerts(incident_id))
        cap = API_PROVIDER_TIMEOUT
        if remaining_seconds is not None:
            cap = max(1.0, min(cap, remaining_seconds - API_RESERVE_SECONDS))
        chosen = self.resolve(provider, timeout_cap=cap)
        try:
            return self.run(chosen, request, trace_id=trace_id)
        except SignalfireError as exc:
            if chosen.name == "local" or not self.fallback_enabled or chosen.config.get("fallback") is False:
                raise
            logger.warning("provider failed; using the local provider",
                           extra={"provider": chosen.configured_name or chosen.name, "error_type": type(exc).__name__,
                                  "reason": exc.message[:300]})
            primary = {"type": type(exc).__name__, "message": exc.message[:500],
                       "provider": chosen.configured_name or chosen.name}
            return self.run(self.local(), request, trace_id=trace_id, fallback_used=True, primary_error=primary)

    def recommendations(self, incident_id: str, limit: int = 20) -> list[AnalysisRun]:
        return self.store.analyses_for_incident(incident_id, limit)

    def memory_analysis(self, hostname: str) -> MemoryAnalysis:
        """GET /intelligence/memory/: the host's memory as the local provider reads it."""
        ctx, view = self._host_view(hostname, "memory")
        return MemoryAnalysis(**view, memory_percent=ctx.memory_percent, memory_total_mb=ctx.memory_total_mb,
                              memory_available_mb=ctx.memory_available_mb, swap_percent=ctx.swap_percent,
                              top_processes=[p.model_dump(exclude_none=True) for p in ctx.top_memory])

    def disk_analysis(self, hostname: str) -> DiskAnalysis:
        """GET /intelligence/disk/: the host's disks as the local provider reads them."""
        ctx, view = self._host_view(hostname, "disk")
        return DiskAnalysis(**view, disks=[d.model_dump(exclude_none=True) for d in ctx.disks],
                            space_hogs=[h.model_dump(exclude_none=True) for h in ctx.space_hogs],
                            old_files=[f.model_dump(exclude_none=True) for f in ctx.old_files],
                            large_files=[f.model_dump(exclude_none=True) for f in ctx.large_files])

    def _host_view(self, hostname: str, kind: Literal["memory", "disk"]) -> tuple[HostContext, dict[str, Any]]:
        ctx = self.hosts.latest(hostname)
        if ctx is None or not ctx.has_data:
            raise NotFoundError(f"no agent report for host {hostname!r}: run signalfire-agent there "
                                "(POST /checks/) and ask again")
        request = AnalysisRequest(hosts=[ctx], analysis_type=kind)
        recs: list[Recommendation] = self.local().analyze(request, kind)
        return ctx, {"hostname": hostname, "analysis_type": kind,
                     "reported_at": ctx.reported_at.isoformat() if ctx.reported_at else None,
                     "stale": ctx.stale, "recommendations": [r.to_dict() for r in recs]}

    def health(self) -> Health:
        active = self.store.active_provider()
        return Health.model_validate({"status": "ok", "providers": list(PROVIDERS), "active": active.name if active else None,
                "active_type": active.provider if active else "local",
                "model_name": (self._build(active, active.provider, None).model_name if active else "rules-v2"),
                "fallback_enabled": self.fallback_enabled})
