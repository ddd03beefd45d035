"""API keys by reference: an SSM parameter or a Secrets Manager secret.

A provider config may hold ``api_key`` itself (stored encrypted at rest in
the table, never shown) or, better, ``api_key_ref``:

- ``ssm:/signalfire/intelligence/openai`` or ``/signalfire/intelligence/openai``
  (an SSM parameter, SecureString decrypted), or its ARN;
- ``secretsmanager:signalfire/intelligence/openai`` or
  ``signalfire/intelligence/openai`` (a Secrets Manager secret; a JSON value
  ``{"api_key": "..."}`` is accepted too), or its ARN.

Only names under ``signalfire/intelligence/`` are accepted: the functions'
IAM policies grant exactly that prefix (template.yaml), so a reference
elsewhere fails when it is saved, not at 3 a.m.  Values are read with
Powertools Parameters and cached for ``max_age`` seconds.
"""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import ClientError

from signalfire import aws
from signalfire.errors import ConfigurationError, ProviderError

#: The one prefix the template's policies grant (ssm:GetParameter and
#: secretsmanager:GetSecretValue on it and nothing else).
KEY_PREFIX = "signalfire/intelligence/"

_SSM_ARN = re.compile(r"^arn:[\w-]+:ssm:[\w-]*:\d*:parameter/(?P<name>.+)$")
_SM_ARN = re.compile(r"^arn:[\w-]+:secretsmanager:[\w-]*:\d*:secret:(?P<name>.+)$")
_NOT_FOUND = {"ParameterNotFound", "ResourceNotFoundException", "AccessDeniedException", "AccessDenied",
              "ParameterVersionNotFound", "InvalidKeyId", "ValidationException", "DecryptionFailure",
              "InvalidRequestException", "InvalidParameterException"}


def parse_ref(ref: str) -> tuple[str, str]:
    """``(service, name)`` for a key reference; ConfigurationError if it is not one we may read."""
    ref = (ref or "").strip()
    if ref.startswith("ssm:"):
        service, name = "ssm", ref[4:]
    elif ref.startswith("secretsmanager:"):
        service, name = "secretsmanager", ref[len("secretsmanager:"):]
    elif m := _SSM_ARN.match(ref):
        service, name = "ssm", "/" + m.group("name").lstrip("/")
    elif m := _SM_ARN.match(ref):
        service, name = "secretsmanager", ref  # Secrets Manager takes the full ARN
    elif ref.startswith("/"):
        service, name = "ssm", ref
    else:
        service, name = "secretsmanager", ref
    plain = name
    if service == "secretsmanager" and (m := _SM_ARN.match(name)):
        plain = m.group("name")
    if not plain.lstrip("/").startswith(KEY_PREFIX) or ".." in plain:
        raise ConfigurationError(
            f"api_key_ref {ref!r} is outside the allowed prefix: store the key as the SSM parameter "
            f"'/{KEY_PREFIX}<name>' or the Secrets Manager secret '{KEY_PREFIX}<name>' "
            "(the functions may read nothing else)")
    if service == "ssm" and not name.startswith("/"):
        name = "/" + name
    return service, name


def _unwrap(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value or "").strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return text
        if isinstance(data, dict):
            for key in ("api_key", "apiKey", "key", "token"):
                if isinstance(data.get(key), str):
                    return data[key].strip()
            strings = [v for v in data.values() if isinstance(v, str)]
            if len(strings) == 1:
                return strings[0].strip()
    return text


class KeyResolver:
    """Reads referenced keys through Powertools Parameters, with a cache."""

    def __init__(self, *, max_age: int = 300, ssm_client: Any | None = None, secrets_client: Any | None = None) -> None:
        self.max_age = max_age
        self._ssm_client = ssm_client
        self._secrets_client = secrets_client
        self._providers: dict[str, Any] = {}

    def _provider(self, service: str) -> Any:
        found = self._providers.get(service)
        if found is None:
            from aws_lambda_powertools.utilities import parameters

            if service == "ssm":
                found = parameters.SSMProvider(boto3_client=self._ssm_client or aws.client("ssm"))
            else:
                found = parameters.SecretsProvider(boto3_client=self._secrets_client or aws.client("secretsmanager"))
            self._providers[service] = found
        return found

    def resolve(self, ref: str) -> str:
        service, name = parse_ref(ref)
        try:
            if service == "ssm":
                value = self._provider(service).get(name, max_age=self.max_age, decrypt=True)
            else:
                value = self._provider(service).get(name, max_age=self.max_age)
        except Exception as exc:  # Powertools wraps the ClientError in GetParameterError/GetSecretError
            cause = exc.__cause__ or exc.__context__
            code = cause.response.get("Error", {}).get("Code", "") if isinstance(cause, ClientError) else ""
            if code in _NOT_FOUND or (code == "" and "not found" in str(exc).lower()):
                raise ConfigurationError(f"api_key_ref {ref!r} cannot be read ({code or 'not found'})") from None
            raise ProviderError(f"api_key_ref {ref!r} could not be read right now ({code or type(exc).__name__})") from None
        key = _unwrap(value)
        if not key:
            raise ConfigurationError(f"api_key_ref {ref!r} holds an empty value")
        return key
