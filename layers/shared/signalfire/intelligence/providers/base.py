"""Provider interface (seed: BaseProvider, BaseAIProvider).

``analyze(request, analysis_type)`` returns the recommendations;
``answer(request)`` returns the whole conclusion (summary, probable cause,
confidence, recommendations) with the token usage; ``run(...)`` wraps it in
an AnalysisRun audit record.

Unlike the seed, an AI provider does not swallow its own failure into a
canned "fallback" recommendation: it raises a classified error
(``ProviderError`` retryable: timeout, 429, 5xx; ``ProviderRejectedError``:
other 4xx; ``ProviderResponseError``: an answer that is not the JSON asked
for; ``ConfigurationError``: no key), so the state machine's Retry applies
and its Catch answers with the local provider, and the run says so.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from signalfire import deadline
from signalfire.errors import (
    ConfigurationError,
    ProviderError,
    ProviderRejectedError,
    ProviderResponseError,
)
from signalfire.ids import new_id
from signalfire.intelligence.keys import KeyResolver
from signalfire.intelligence.models import (
    Analysis,
    AnalysisRequest,
    AnalysisRun,
    Recommendation,
    Usage,
    redact_config,
)
from signalfire.intelligence.prompt import build_prompt, parse_answer

if TYPE_CHECKING:
    import httpx

#: Largest HTTP response body read from a vendor (bytes).
MAX_RESPONSE_BYTES = 1_000_000
#: Config keys a provider understands (anything else is refused when saved).
COMMON_KEYS = frozenset({"api_key", "api_key_ref", "model", "base_url", "timeout", "max_tokens", "fallback"})


class ProviderAnswer:
    """One provider's conclusion, with what it cost."""

    def __init__(self, analysis: Analysis, usage: Usage | None = None, model_name: str = "") -> None:
        self.analysis = analysis
        self.usage = usage or Usage()
        self.model_name = model_name


class BaseProvider(ABC):
    """Every provider: a type name, a config, and ``answer``."""

    name: ClassVar[str] = ""
    default_model: ClassVar[str] = ""
    config_keys: ClassVar[frozenset[str]] = COMMON_KEYS

    def __init__(self, config: dict[str, Any] | None = None, *, configured_name: str = "") -> None:
        self.config: dict[str, Any] = dict(config or {})
        self.configured_name = configured_name

    @property
    def model_name(self) -> str:
        return str(self.config.get("model") or self.default_model)

    def redacted_config(self) -> dict[str, Any]:
        return redact_config(self.config)

    @abstractmethod
    def answer(self, request: AnalysisRequest) -> ProviderAnswer:
        """Analyse; raise a classified SignalfireError on failure."""

    def analyze(self, request: AnalysisRequest, analysis_type: str = "incident") -> list[Recommendation]:
        """The seed's interface: the recommendations only."""
        req = request if request.analysis_type == analysis_type else request.model_copy(
            update={"analysis_type": analysis_type})
        return self.answer(req).analysis.recommendations

    def input_summary(self, request: AnalysisRequest) -> str:
        inc = request.incident
        hosts = ", ".join(h.hostname for h in request.hosts) or "none"
        parts = [f"incident {inc.id} ({inc.severity.value}): {inc.title[:200]}" if inc else "no incident",
                 f"{len(request.alerts)} alert(s)", f"{len(request.notes)} note(s)",
                 f"host data: {hosts}"]
        if request.hosts_without_data:
            parts.append(f"no agent data for: {', '.join(request.hosts_without_data)}")
        if request.checks:
            parts.append(f"{len(request.checks)} failing check(s)")
        return "; ".join(parts)[:1000]

    def run(self, request: AnalysisRequest, *, trace_id: str = "", pipeline_run_id: str = "",
            fallback_used: bool = False, checker_output_ref: str = "",
            record: Callable[[AnalysisRun], None] | None = None) -> tuple[AnalysisRun, ProviderAnswer]:
        """``answer`` wrapped in an AnalysisRun: stored as RUNNING before the
        call and as SUCCEEDED/FAILED after it (``record`` is the store's put).
        Errors propagate after the record is written."""
        audit = AnalysisRun(
            id=new_id("an"), trace_id=trace_id, pipeline_run_id=pipeline_run_id, provider=self.name,
            provider_name=self.configured_name, provider_config=self.redacted_config(),
            model_name=self.model_name, fallback_used=fallback_used, incident_id=request.incident_id,
            input_summary=self.input_summary(request), checker_output_ref=checker_output_ref,
        )
        audit.mark_started()
        if record:
            record(audit)
        try:
            result = self.answer(request)
        except Exception as exc:
            audit.mark_failed(exc, getattr(exc, "usage", None))
            if record:
                record(audit)
            raise
        audit.model_name = result.model_name or audit.model_name
        audit.mark_succeeded(result.analysis, result.usage)
        if record:
            record(audit)
        return audit, result


class BaseAIProvider(BaseProvider):
    """An LLM behind an HTTP API.  Subclasses implement ``_call_api``."""

    default_base_url: ClassVar[str] = ""
    requires_key: ClassVar[bool] = True
    default_timeout: ClassVar[float] = 30.0
    default_max_tokens: ClassVar[int] = 1500

    def __init__(self, config: dict[str, Any] | None = None, *, configured_name: str = "",
                 keys: KeyResolver | None = None, http: httpx.Client | None = None,
                 timeout_cap: float | None = None) -> None:
        super().__init__(config, configured_name=configured_name)
        self._keys = keys
        self._http = http
        self._timeout_cap = timeout_cap
        self._key: str | None = None

    # -- config --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return str(self.config.get("base_url") or self.default_base_url).rstrip("/")

    @property
    def timeout(self) -> float:
        value = float(self.config.get("timeout") or self.default_timeout)
        return min(value, self._timeout_cap) if self._timeout_cap else value

    @property
    def max_tokens(self) -> int:
        return int(self.config.get("max_tokens") or self.default_max_tokens)

    def api_key(self) -> str:
        """The key from ``api_key`` or ``api_key_ref``; '' when the vendor needs none."""
        if self._key is None:
            if self.config.get("api_key"):
                self._key = str(self.config["api_key"])
            elif self.config.get("api_key_ref"):
                self._key = (self._keys or KeyResolver()).resolve(str(self.config["api_key_ref"]))
            elif self.requires_key:
                raise ConfigurationError(f"provider {self.configured_name or self.name!r} has no api_key "
                                         "or api_key_ref in its config")
            else:
                self._key = ""
        return self._key

    # -- the call ------------------------------------------------------------------------

    def answer(self, request: AnalysisRequest) -> ProviderAnswer:
        system, user = build_prompt(request)
        text, usage, model = self._call_api(system, user)
        try:
            analysis = parse_answer(text, request.incident_id)
        except ProviderResponseError as exc:
            exc.usage = usage  # type: ignore[attr-defined]  # the tokens were spent all the same
            raise
        return ProviderAnswer(analysis, usage, model or self.model_name)

    @abstractmethod
    def _call_api(self, system: str, user: str) -> tuple[str, Usage, str]:
        """Send the prompt; return ``(answer text, usage, model name reported)``."""

    def _scrub(self, text: str) -> str:
        key = self._key
        if key and len(key) >= 4:
            text = text.replace(key, "***")
        return text

    def _post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        """POST JSON and classify every failure.  Returns the decoded JSON body."""
        import httpx  # here, not at the top: the functions that never call a vendor do not pay for it

        url = self.base_url + path
        if not url.startswith(("https://", "http://")):
            raise ConfigurationError(f"provider {self.name!r} base_url must start with https:// or http://")
        label = self.configured_name or self.name
        try:
            limit = deadline.bound(self.timeout)  # the provider's timeout, cut to what the stage's deadline leaves
        except deadline.DeadlinePassed as exc:
            raise ProviderError(f"{label}: not called: {exc}", details={"timeout": True}) from None
        client = self._http or httpx.Client(follow_redirects=False)
        # httpx's timeout bounds each connect/read/write; ``until`` bounds the whole
        # exchange, so a server dripping bytes cannot hold the function past its budget.
        until = time.monotonic() + limit.seconds
        try:
            with client.stream("POST", url, json=body, headers={"content-type": "application/json", **headers},
                               timeout=limit.seconds) as resp:
                raw = bytearray()
                for chunk in resp.iter_bytes():
                    raw.extend(chunk)
                    if len(raw) > MAX_RESPONSE_BYTES:
                        raise ProviderResponseError(f"{label}: response larger than {MAX_RESPONSE_BYTES} bytes")
                    if time.monotonic() > until:
                        raise httpx.ReadTimeout("deadline passed while reading the response")
                status = resp.status_code
        except httpx.TimeoutException:
            raise ProviderError(f"{label}: no answer within {limit.seconds:.3g} s{limit.says()}",
                                details={"timeout": True, **({"deadline": limit.cut_by} if limit.cut_by else {})}
                                ) from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"{label}: {type(exc).__name__} reaching {self.base_url}") from None
        finally:
            if self._http is None:
                client.close()
        if status == 429 or status >= 500:
            raise ProviderError(f"{label}: HTTP {status} {self._vendor_error(raw)}".rstrip(),
                                details={"status": status})
        if status >= 400:
            raise ProviderRejectedError(f"{label}: HTTP {status} {self._vendor_error(raw)}".rstrip(),
                                        details={"status": status})
        try:
            data = json.loads(bytes(raw))
        except ValueError:
            raise ProviderResponseError(f"{label}: HTTP {status} with a body that is not JSON") from None
        if not isinstance(data, dict):
            raise ProviderResponseError(f"{label}: the response is not a JSON object")
        return data

    def _vendor_error(self, raw: bytes | bytearray) -> str:
        """The vendor's own error message, short and without the key."""
        try:
            data = json.loads(bytes(raw))
        except ValueError:
            return self._scrub(bytes(raw[:200]).decode("utf-8", "replace"))
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict):
            msg = err.get("message") or err.get("type") or ""
        elif isinstance(err, str):
            msg = err
        else:
            msg = data.get("message", "") if isinstance(data, dict) else ""
        return self._scrub(str(msg)[:300])


def require(data: dict[str, Any], *path: Any) -> Any:
    """``data[path...]`` or a ProviderResponseError naming what is missing."""
    node: Any = data
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            raise ProviderResponseError(
                "the response lacks " + ".".join(str(p) for p in path)) from None
    return node


__all__ = ["BaseAIProvider", "BaseProvider", "ProviderAnswer", "require"]
