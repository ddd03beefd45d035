"""The HTTP resolver every API function uses, and the one place where
errors become HTTP answers."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import _ROUTE_REGEX
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from signalfire import aws, services
from signalfire.auth import Role, extract_token
from signalfire.errors import SignalfireError
from signalfire.observability import logger

#: Time kept back from the function's deadline to shape and send the answer.
ANSWER_MARGIN_SECONDS = 1.0


class SignalfireResolver(APIGatewayHttpResolver):
    """HTTP API resolver that treats ``/path`` and ``/path/`` alike (the
    seed's URLs end in a slash; many senders drop it)."""

    def route(self, rule: str, *args: Any, **kwargs: Any):  # type: ignore[override]
        return super().route(rule.rstrip("/") or "/", *args, **kwargs)

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = _ROUTE_REGEX):  # type: ignore[override]
        return APIGatewayHttpResolver._compile_regex(rule, "^{}/*$")

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        """Answer within the invocation's time: AWS requests that could not
        finish before the function's deadline are not sent (signalfire.aws)."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        aws.set_deadline(remaining() / 1000 - ANSWER_MARGIN_SECONDS if remaining else None)
        try:
            return super().resolve(event, context)
        finally:
            aws.set_deadline(None)

    # -- request helpers -----------------------------------------------------------

    def raw_body(self) -> bytes:
        return raw_body_of(self.current_event)

    def query(self, name: str, default: str | None = None) -> str | None:
        return (self.current_event.query_string_parameters or {}).get(name, default)

    def require(self, role: Role) -> Role:
        return require_role(self.current_event, role)


def raw_body_of(event: Any) -> bytes:
    """The request body as bytes (API Gateway base64-encodes binary bodies)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body)
        except ValueError:
            return body.encode("utf-8", errors="replace")
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def require_role(event: Any, role: Role) -> Role:
    """401/403 unless the request carries a token of ``role`` (routers use this too)."""
    token = extract_token(event.headers, event.query_string_parameters)
    return services.token_verifier().require(token, role)


def error_response(status: int, kind: str, message: str, details: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"error": kind, "message": message}
    if details:
        body["details"] = details
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def make_resolver() -> SignalfireResolver:
    app = SignalfireResolver(enable_validation=True)

    @app.exception_handler(SignalfireError)
    def _domain_error(exc: SignalfireError) -> Response:
        if exc.http_status >= 500:
            logger.warning("request failed", extra={"error": type(exc).__name__, "reason": exc.message})
        return error_response(exc.http_status, type(exc).__name__, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    def _validation_error(exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
            problems.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
        return error_response(400, "BadRequestError", "; ".join(problems) or "invalid request",
                              {"errors": problems})

    @app.exception_handler(RecursionError)
    def _too_deep(exc: RecursionError) -> Response:
        # Only a request nested thousands of levels deep gets here (JSON parsing).
        return error_response(400, "BadRequestError", "body nests too deeply; send at most 64 levels of JSON")

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(exc: UnicodeDecodeError) -> Response:
        return error_response(400, "BadRequestError", "body is not UTF-8 text; send JSON")

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        return error_response(404, "NotFoundError",
                              f"no route {app.current_event.request_context.http.method} {app.current_event.path}")

    return app
