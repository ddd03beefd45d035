"""The HTTP resolver every API function uses, and the one place where
errors become HTTP answers."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from signalfire import aws, services
from signalfire.auth import Role, extract_token
from signalfire.errors import SignalfireError
from signalfire.models import Model
from signalfire.observability import logger

#: Time kept back from the function's deadline to shape and send the answer.
ANSWER_MARGIN_SECONDS = 1.0

JSON = content_types.APPLICATION_JSON


class SignalfireResolver(APIGatewayHttpResolver):
    """The HTTP API resolver of our functions.

    - ``/path/`` is served as ``/path`` (the seed's URLs end in a slash; many
      senders drop it): the request path loses its trailing slashes before
      routing, so every route is declared once, without one.
    - ``role``: every route needs a token of that role (``roles`` names the
      ``/path`` or ``METHOD /path`` that need another); a request without
      one is answered 401/403 before anything else is said about it (even a
      validation error).
    - ``json_bodies``: every body is JSON whatever its content type says
      (``curl -d`` sends ``application/x-www-form-urlencoded``).
    """

    def __init__(self, role: Role | None = None, *, json_bodies: bool = False,
                 roles: Mapping[str, Role] | None = None) -> None:
        super().__init__(enable_validation=True)
        self.role = role
        self.roles = dict(roles or {})
        self.json_bodies = json_bodies
        if role is not None:
            self.use(middlewares=[self._authorize])

    def _normalize(self, event: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(event)
        raw_path = str(out.get("rawPath") or "/")
        if len(raw_path) > 1 and raw_path.endswith("/"):
            out["rawPath"] = raw_path.rstrip("/") or "/"
        headers = out.get("headers") or {}
        if self.json_bodies and out.get("body") and not headers.get("content-type", "").startswith(JSON):
            out["headers"] = {**headers, "content-type": JSON}
        return out

    def _authorize(self, app: SignalfireResolver, next_middleware: NextMiddleware) -> Response:
        self.authorize()
        return next_middleware(app)

    def authorize(self) -> None:
        """Raise 401/403 unless the request carries a token of this resolver's role."""
        event = self.current_event
        path = event.path
        role = self.roles.get(f"{event.request_context.http.method} {path}", self.roles.get(path, self.role))
        if role is not None:
            self.require(role)

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        """Answer within the invocation's time: AWS requests that could not
        finish before the function's deadline are not sent (signalfire.aws)."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        aws.set_deadline(remaining() / 1000 - ANSWER_MARGIN_SECONDS if remaining else None)
        try:
            return super().resolve(self._normalize(event), context)
        finally:
            aws.set_deadline(None)

    # -- request helpers -----------------------------------------------------------

    def raw_body(self) -> bytes:
        return raw_body_of(self.current_event)

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


class ErrorBody(Model):
    """Every error answer: the error class name (the contract), what went wrong, and details."""

    error: str
    message: str
    details: dict[str, Any] | None = None


def error_response(status: int, kind: str, message: str, details: dict[str, Any] | None = None) -> Response:
    body = ErrorBody(error=kind, message=message, details=details or None)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=body.model_dump(exclude_none=True))


def make_resolver(role: Role | None = None, *, json_bodies: bool = False,
                  roles: Mapping[str, Role] | None = None) -> SignalfireResolver:
    app = SignalfireResolver(role, json_bodies=json_bodies, roles=roles)

    @app.exception_handler(SignalfireError)
    def _domain_error(exc: SignalfireError) -> Response:
        if exc.http_status >= 500:
            logger.warning("request failed", extra={"error": type(exc).__name__, "reason": exc.message})
        return error_response(exc.http_status, type(exc).__name__, exc.message, exc.details)

    def _unauthorized() -> Response | None:
        """Powertools validates before our middleware runs: a stranger hears 401/403, not why
        the request is invalid."""
        try:
            app.authorize()
        except SignalfireError as exc:
            return _domain_error(exc)
        return None

    @app.exception_handler(RequestValidationError)
    def _validation_error(exc: RequestValidationError) -> Response:
        if refused := _unauthorized():
            return refused
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
            problems.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
        return error_response(400, "BadRequestError", "; ".join(problems) or "invalid request",
                              {"errors": problems})

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(exc: UnicodeDecodeError) -> Response:
        return _unauthorized() or error_response(400, "BadRequestError", "body is not UTF-8 text; send JSON")

    @app.exception_handler(binascii.Error)
    def _not_base64(exc: binascii.Error) -> Response:
        return _unauthorized() or error_response(400, "BadRequestError", "body is marked base64 but is not base64")

    @app.exception_handler(RecursionError)
    def _too_deep(exc: RecursionError) -> Response:
        # Only a request nested thousands of levels deep gets here (JSON parsing).
        return _unauthorized() or error_response(400, "BadRequestError",
                                                 "body nests too deeply; send at most 64 levels of JSON")

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        return error_response(404, "NotFoundError",
                              f"no route {app.current_event.request_context.http.method} {app.current_event.path}")

    return app
