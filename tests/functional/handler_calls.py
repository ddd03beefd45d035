"""Call the real handlers with API Gateway events (no HTTP server)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from support import ADMIN_TOKEN, ROOT, FakeContext, http_event


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


def webhook(body: Any, driver: str | None = None, **kw: Any) -> Reply:
    path = f"/alerts/webhook/{driver}/" if driver else "/alerts/webhook/"
    params = {"driver": driver} if driver else None
    route = "POST /alerts/webhook/{driver}/" if driver else "POST /alerts/webhook/"
    event = http_event("POST", path, body, route_key=route, path_params=params, **kw)
    return Reply(handler("IngestFunction")(event, FakeContext()))


def api(method: str, path: str, body: Any = None, token: str | None = ADMIN_TOKEN,
        query: dict[str, str] | None = None) -> Reply:
    event = http_event(method, path, body, token=token, query=query, route_key="ANY /{proxy+}",
                       path_params={"proxy": path.strip("/")})
    return Reply(handler("ApiFunction")(event, FakeContext()))
