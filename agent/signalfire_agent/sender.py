"""POST a batch with the standard library (http.client; ssl only for https)."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from signalfire_agent import __version__

#: answers that say "try again later", not "this batch is bad"
RETRYABLE = {401, 403, 408, 425, 429}


@dataclass
class Answer:
    status: int  # 0 = no HTTP answer (connection refused, timeout, DNS)
    body: str

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def rejected(self) -> bool:
        """The server says this batch is bad: keep it aside, do not retry it."""
        return 400 <= self.status < 500 and self.status not in RETRYABLE


class Sender:
    def __init__(self, api_url: str, token: str, timeout: float = 10.0) -> None:
        parts = urlsplit(api_url)
        self.https = parts.scheme == "https"
        self.netloc = parts.netloc
        self.path = parts.path.rstrip("/") + "/checks/"
        self.token = token
        self.timeout = timeout

    def post(self, payload: dict[str, Any]) -> Answer:
        body = json.dumps(payload, separators=(",", ":")).encode()
        conn: http.client.HTTPConnection
        if self.https:
            conn = http.client.HTTPSConnection(self.netloc, timeout=self.timeout)
        else:
            conn = http.client.HTTPConnection(self.netloc, timeout=self.timeout)
        try:
            conn.request("POST", self.path, body=body, headers={
                "Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                "User-Agent": f"signalfire-agent/{__version__}"})
            resp = conn.getresponse()
            return Answer(resp.status, resp.read(65536).decode("utf-8", "replace"))
        except (OSError, http.client.HTTPException) as exc:
            return Answer(0, f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()
