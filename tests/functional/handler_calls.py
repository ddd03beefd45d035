"""Call the real handlers with API Gateway events (no HTTP server)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from support import ADMIN_TOKEN, ROOT, FakeContext, http_event, route


@cache
def handler(logical_id: str):  # type: ignore[no-untyped-def]
    """The function's handler behind the local stack's pool: concurrent calls
    get separate execution environments, as in Lambda."""
    from signalfire_local.stack import HandlerPool
    from signalfire_local.template import Template

    return HandlerPool(Template(ROOT / "template.yaml").functions()[logical_id], size=64)


class Reply:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.status = raw["statusCode"]
        body = raw.get("body") or ""
        self.json: Any = json.loads(body) if body else None

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.json})"


def call(method: str, path: str, body: Any = None, **kw: Any) -> Reply:
    """Send ``method path`` to the function template.yaml routes it to, with
    the event API Gateway would build."""
    event = http_event(method, path, body, **kw)
    return Reply(handler(route(method, path).function)(event, FakeContext()))


def webhook(body: Any, driver: str | None = None, **kw: Any) -> Reply:
    path = f"/alerts/webhook/{driver}/" if driver else "/alerts/webhook/"
    assert route("POST", path).function == "IngestFunction"
    return call("POST", path, body, **kw)


def api(method: str, path: str, body: Any = None, token: str | None = ADMIN_TOKEN,
        query: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Reply:
    return call(method, path, body, token=token, query=query, extra_headers=headers)
