"""What every channel is: a config model, a validator, a sender.

:meth:`Channel.send` is the frame every send goes through: validate the
config, resolve secret references, call the channel's own ``_send``, turn
anything unexpected into a failed :class:`SendResult` with the shared retry
rule, and scrub every secret value from the error and metadata.  A channel
module writes only its config model and ``_send``.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import ConfigDict, ValidationError

from signalfire.errors import ConfigurationError, SignalfireError
from signalfire.models import Model
from signalfire.notify import retry
from signalfire.notify.compose import template_context
from signalfire.notify.models import NotificationMessage, SendResult
from signalfire.notify.outbound import DestinationRefused, DestinationUnreachable, OutboundPolicy
from signalfire.notify.secrets import SecretResolver, reference, scrub, secret_values
from signalfire.notify.templating import Renderer


@dataclass
class Runtime:
    """What channels need from their surroundings; injected, so tests and the
    local stack choose the policy, the secret source and the template folder."""

    policy: OutboundPolicy = field(default_factory=OutboundPolicy)
    local_mode: bool = False
    secrets: SecretResolver = field(default_factory=SecretResolver)
    renderer: Renderer = field(default_factory=Renderer)
    #: where console notifications are appended as JSON lines (local mode)
    outbox: str = ""
    #: upper bound on any one call's timeout (the API keeps under API Gateway's 30 s)
    timeout_cap: float = 30.0

    @classmethod
    def from_env(cls) -> Runtime:
        from signalfire import constants as env

        local = os.environ.get(env.LOCAL_MODE, "").lower() == "true"
        allow_loopback = os.environ.get(env.NOTIFY_ALLOW_LOOPBACK, "true" if local else "false").lower() == "true"
        policy = OutboundPolicy.parse(os.environ.get(env.NOTIFY_ALLOWLIST, ""), allow_loopback=allow_loopback)
        return cls(policy=policy, local_mode=local, outbox=os.environ.get(env.LOCAL_OUTBOX, ""))


class ChannelConfig(Model):
    """Base of every channel's config: unknown keys are errors (a typo must not
    silently fall back to a default), templates are allowed on every channel."""

    model_config = ConfigDict(extra="forbid")

    template: Any = None


def first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err.get("loc", ())) or "config"
    msg = err.get("msg", "is invalid")
    if err.get("type") == "extra_forbidden":
        msg = "is not a known key"
    return key, msg.removeprefix("Value error, ")


class Channel(ABC):
    """One notification channel (seed: BaseNotifyDriver)."""

    name: ClassVar[str]
    description: ClassVar[str]
    config_model: ClassVar[type[ChannelConfig]]
    #: config keys whose values are secrets (masked, scrubbed, may be references)
    secret_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, runtime: Runtime | None = None) -> None:
        self.runtime = runtime or Runtime.from_env()

    # -- config ----------------------------------------------------------------------

    def validate_config(self, config: dict[str, Any], *, resolve_names: bool = False) -> ChannelConfig:
        """The parsed config; ConfigurationError naming the key that is wrong.

        Secret references are accepted in place of secret values (they are
        resolved at send time); destinations are checked against the outbound
        policy (``resolve_names``: also refuse names that do not resolve)."""
        if not isinstance(config, dict):
            raise ConfigurationError("config must be a JSON object", details={"key": "config"})
        refs = {k for k, v in config.items() if k in self.secret_keys and reference(v)}
        data = {k: (_placeholder(k) if k in refs else v) for k, v in config.items()}
        headers = data.get("headers")
        if isinstance(headers, dict):
            data["headers"] = {h: ("x" if reference(v) else v) for h, v in headers.items()}
        try:
            parsed = self.config_model.model_validate(data)
        except ValidationError as exc:
            key, msg = first_error(exc)
            raise ConfigurationError(f"{self.name} config: {key} {msg}", details={"key": key}) from None
        if refs:
            return parsed  # a referenced destination is checked when it is resolved, at send time
        self.check_destinations(parsed, resolve_names=resolve_names)
        return parsed

    def check_destinations(self, config: ChannelConfig, *, resolve_names: bool) -> None:
        """Refuse destinations the outbound policy does not allow (channels that
        connect somewhere override this; the console connects nowhere)."""
        return None

    def requirements(self) -> dict[str, Any]:
        """Config keys with their type, default and whether required (GET /notify/drivers/{driver})."""
        schema = self.config_model.model_json_schema()
        required = set(schema.get("required", []))
        keys = {}
        for key, prop in schema.get("properties", {}).items():
            keys[key] = {"required": key in required, "default": prop.get("default"),
                         "description": prop.get("description", ""), "secret": key in self.secret_keys,
                         "type": prop.get("type") or [p.get("type") for p in prop.get("anyOf", []) if p.get("type")]}
        return {"driver": self.name, "description": self.description, "config": keys,
                "secret_reference_forms": ["ssm:/signalfire/notify/name", "secretsmanager:signalfire/notify/name#key"]}

    # -- sending ---------------------------------------------------------------------

    def send(self, message: NotificationMessage, config: dict[str, Any]) -> SendResult:
        """Send ``message``; never raises.  The result says whether a failure
        is worth retrying, and no secret appears in its error or metadata."""
        secrets: list[str] = [v for k, v in config.items() if k in self.secret_keys and isinstance(v, str)]
        try:
            self.validate_config(config)
            resolved = {k: (self.runtime.secrets.resolve(v, k) if k in self.secret_keys else v)
                        for k, v in config.items()}
            if isinstance(resolved.get("headers"), dict):
                resolved["headers"] = {h: self.runtime.secrets.resolve(v, f"headers.{h}")
                                       for h, v in resolved["headers"].items()}
            secrets = secret_values(resolved, self.secret_keys)
            parsed = self.config_model.model_validate(resolved)
            self.check_destinations(parsed, resolve_names=False)
            result = self._send(message, parsed)
        except DestinationRefused as exc:
            result = SendResult.failed(f"{self.name}: destination refused: {exc}", retryable=retry.CONFIGURATION_RETRYABLE)
        except DestinationUnreachable as exc:
            result = SendResult.failed(f"{self.name}: {exc}", retryable=retry.NETWORK_FAILURE_RETRYABLE)
        except SignalfireError as exc:
            result = SendResult.failed(f"{self.name}: {exc.message}", retryable=exc.retryable)
        except Exception as exc:  # a bug or an unforeseen library error: say so, retry once more may help
            result = SendResult.failed(f"{self.name}: unexpected {type(exc).__name__}: {exc}", retryable=True)
        return _scrubbed(result, secrets)

    @abstractmethod
    def _send(self, message: NotificationMessage, config: Any) -> SendResult: ...

    # -- helpers for channel modules ---------------------------------------------------

    def timeout(self, config: Any) -> float:
        return float(min(getattr(config, "timeout", 30.0), self.runtime.timeout_cap))

    def context(self, message: NotificationMessage) -> dict[str, Any]:
        return template_context(message, channel=self.name)

    def render(self, config: ChannelConfig, key: str, part: str, message: NotificationMessage, *,
               html: bool = False) -> str:
        rendered = self.runtime.renderer.render_part(config.model_dump(), key, self.name, part,
                                                     self.context(message), html=html)
        return (rendered or "").strip()


def _placeholder(key: str) -> str:
    """A value that satisfies the config model where a secret reference stands
    (the reference itself is checked when it is resolved)."""
    return "https://hooks.slack.com/services/reference" if "url" in key or key == "endpoint" else "x" * 32


def _scrubbed(result: SendResult, secrets: list[str]) -> SendResult:
    if not secrets:
        return result
    import json

    meta = json.loads(scrub(json.dumps(result.metadata, default=str), [json.dumps(s)[1:-1] for s in secrets]))
    return result.model_copy(update={"error": scrub(result.error, secrets), "metadata": meta,
                                     "message_id": scrub(result.message_id, secrets) if result.message_id else None})
