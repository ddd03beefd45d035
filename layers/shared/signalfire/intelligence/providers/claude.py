"""Anthropic Claude: the Messages API.

``POST {base_url}/v1/messages`` with ``x-api-key`` and ``anthropic-version``;
the system prompt is a top-level field, the answer is the ``text`` blocks of
``content``, and the counts are ``usage.input_tokens`` / ``output_tokens``.
"""

from __future__ import annotations

from signalfire.errors import ProviderResponseError
from signalfire.intelligence.models import Usage
from signalfire.intelligence.providers.base import BaseAIProvider, require

ANTHROPIC_VERSION = "2023-06-01"


class ClaudeRecommendationProvider(BaseAIProvider):
    name = "claude"
    default_model = "claude-sonnet-4-20250514"
    default_base_url = "https://api.anthropic.com"

    def _call_api(self, system: str, user: str) -> tuple[str, Usage, str]:
        body = {"model": self.model_name, "max_tokens": self.max_tokens, "system": system,
                "messages": [{"role": "user", "content": user}]}
        headers = {"x-api-key": self.api_key(), "anthropic-version": ANTHROPIC_VERSION}
        data = self._post("/v1/messages", body, headers)
        u = data.get("usage") or {}
        usage = Usage.of(u.get("input_tokens"), u.get("output_tokens"))
        blocks = require(data, "content")
        text = "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text") \
            if isinstance(blocks, list) else ""
        if not text.strip():
            err = ProviderResponseError(f"claude: no text in the answer (stop_reason {data.get('stop_reason')!r})")
            err.usage = usage  # type: ignore[attr-defined]
            raise err
        return text, usage, str(data.get("model") or self.model_name)
