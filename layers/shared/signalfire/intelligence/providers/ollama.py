"""Ollama: a model served on your own machine or network.

``POST {base_url}/api/chat`` with ``stream: false`` and ``format: "json"``;
the answer is ``message.content`` and the counts are ``prompt_eval_count``
/ ``eval_count``.  No key is needed; one given is sent as a Bearer token
(for an Ollama behind an authenticating proxy).
"""

from __future__ import annotations

from signalfire.errors import ProviderResponseError
from signalfire.intelligence.models import Usage
from signalfire.intelligence.providers.base import BaseAIProvider, require


class OllamaRecommendationProvider(BaseAIProvider):
    name = "ollama"
    default_model = "llama3.1"
    default_base_url = "http://localhost:11434"
    requires_key = False
    default_timeout = 60.0

    def _call_api(self, system: str, user: str) -> tuple[str, Usage, str]:
        body = {"model": self.model_name, "stream": False, "format": "json",
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
                "options": {"num_predict": self.max_tokens}}
        key = self.api_key()
        data = self._post("/api/chat", body, {"authorization": f"Bearer {key}"} if key else {})
        usage = Usage.of(data.get("prompt_eval_count"), data.get("eval_count"))
        content = require(data, "message", "content")
        if not isinstance(content, str) or not content.strip():
            err = ProviderResponseError("ollama: empty answer")
            err.usage = usage  # type: ignore[attr-defined]
            raise err
        return content, usage, str(data.get("model") or self.model_name)
