"""Secrets in channel configuration.

A secret config value (an SMTP password, a PagerDuty integration key, a
webhook URL that carries a token, a header such as Authorization) is stored
either as given or, better, as a reference that is resolved only at send time
with Powertools Parameters:

* ``{"ssm": "/signalfire/notify/slack-url"}`` or ``"ssm:/signalfire/notify/slack-url"`` - an
  SSM Parameter Store parameter (SecureString decrypted);
* ``{"secretsmanager": "signalfire/notify/pd"}`` or ``"secretsmanager:signalfire/notify/pd"``
  - a Secrets Manager secret; ``signalfire/notify/pd#routing_key`` picks one key of a
  JSON secret.

References are safe to show (they name where the secret lives); literal
secrets are masked (:data:`MASK`) in every answer, log line and snapshot.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from signalfire.errors import ConfigurationError, TransientError
from signalfire.redaction import MASK as REDACTION_MASK
from signalfire.settings import get_settings

MASK = REDACTION_MASK  # one mask for every secret shown (signalfire/redaction.py)
_KINDS = ("ssm", "secretsmanager")


def reference(value: Any) -> tuple[str, str] | None:
    """``(kind, name)`` when ``value`` is a secret reference."""
    if isinstance(value, dict) and len(value) == 1:
        kind, name = next(iter(value.items()))
        if kind in _KINDS and isinstance(name, str) and name:
            return kind, name
    if isinstance(value, str):
        kind, sep, name = value.partition(":")
        if sep and kind in _KINDS and name and not name.startswith("//"):
            return kind, name
    return None


def reference_prefix() -> str:
    """Names a reference may use (the IAM grant covers only these)."""
    from signalfire import constants as env

    return os.environ.get(env.NOTIFY_SECRET_PREFIX, "signalfire/notify/")


def check_reference(kind: str, name: str, key: str) -> None:
    prefix = reference_prefix().strip("/")
    bare = name.split("#", 1)[0].strip("/")
    if prefix and not bare.startswith(prefix + "/"):
        raise ConfigurationError(f"config.{key}: a {kind} reference must name something under {prefix}/ "
                                 f"(the notify function may read only those); got {name!r}",
                                 details={"key": key})


Fetch = Callable[[str, str], str]


_providers: dict[str, Any] = {}


def _provider(kind: str) -> Any:
    """A Powertools provider over our own client (connect 3 s, read 10 s, standard
    retries: aws.py), rebuilt when the client is (tests reset clients between cases)."""
    from aws_lambda_powertools.utilities import parameters

    from signalfire import aws

    service = "ssm" if kind == "ssm" else "secretsmanager"
    client = aws.client(service)
    found = _providers.get(kind)
    if found is None or found.client is not client:
        found = (parameters.SSMProvider if kind == "ssm" else parameters.SecretsProvider)(boto3_client=client)
        _providers[kind] = found
    return found


def read_parameter(name: str, *, max_age: int) -> str:
    """A plain SSM parameter (cached ``max_age`` seconds), with our client's timeouts."""
    return str(_provider("ssm").get(name, max_age=max_age))


def _fetch(kind: str, name: str) -> str:
    max_age = get_settings().secret_cache_seconds
    if kind == "ssm":
        return str(_provider(kind).get(name, decrypt=True, max_age=max_age))
    secret_name, _, field = name.partition("#")
    raw = _provider(kind).get(secret_name, max_age=max_age)
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    if not field:
        return text
    try:
        return str(json.loads(text)[field])
    except (ValueError, KeyError, TypeError):
        raise ConfigurationError(f"secret {secret_name!r} has no JSON key {field!r}") from None


class SecretResolver:
    """Turns references into values at send time; literal values pass through."""

    def __init__(self, fetch: Fetch | None = None) -> None:
        self._fetch = fetch or _fetch

    def resolve(self, value: Any, key: str) -> Any:
        ref = reference(value)
        if ref is None:
            return value
        kind, name = ref
        check_reference(kind, name, key)
        try:
            return self._fetch(kind, name)
        except ConfigurationError:
            raise
        except Exception as exc:  # botocore errors arrive wrapped by Powertools
            text = f"{type(exc).__name__}: {exc}"
            if any(w in text for w in ("NotFound", "ParameterNotFound", "AccessDenied", "InvalidParameter")):
                raise ConfigurationError(f"config.{key}: could not read {kind} {name!r} "
                                         f"({type(exc).__name__})", details={"key": key}) from None
            raise TransientError(f"config.{key}: reading {kind} {name!r} failed ({type(exc).__name__})") from None


def mask(config: dict[str, Any], secret_keys: tuple[str, ...]) -> dict[str, Any]:
    """``config`` as we may show it: literal secrets replaced by :data:`MASK`,
    header values always masked, references kept."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key == "headers" and isinstance(value, dict):
            out[key] = {h: (v if reference(v) else MASK) for h, v in value.items()}
        elif key in secret_keys and value not in (None, "") and reference(value) is None:
            out[key] = MASK
        else:
            out[key] = value
    return out


def keep_masked(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """A PUT that sends back :data:`MASK` keeps the stored secret."""
    merged = dict(new)
    for key, value in new.items():
        if value == MASK and key in old:
            merged[key] = old[key]
        elif key == "headers" and isinstance(value, dict) and isinstance(old.get(key), dict):
            merged[key] = {h: (old[key].get(h, v) if v == MASK else v) for h, v in value.items()}
    return merged


def secret_values(config: dict[str, Any], secret_keys: tuple[str, ...]) -> list[str]:
    """Every literal secret in a resolved config (to scrub from errors)."""
    found: list[str] = []
    for key in secret_keys:
        value = config.get(key)
        if isinstance(value, str) and value:
            found.append(value)
            if "://" in value:  # a URL's path and query carry the token, not its host
                from urllib.parse import urlsplit

                parts = urlsplit(value)
                found.extend(p for p in (parts.path, parts.query) if len(p) > 8)
                found.extend(seg for seg in parts.path.split("/") if len(seg) >= 8)
    headers = config.get("headers")
    if isinstance(headers, dict):
        for v in headers.values():
            if isinstance(v, str) and v:
                found.append(v)
                found.extend(w for w in v.split() if len(w) >= 8)
    return sorted(set(found), key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, MASK)
    return text
