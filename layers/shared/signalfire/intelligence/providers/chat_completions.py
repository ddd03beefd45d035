"""The OpenAI Chat Completions protocol, shared by four vendors.

``POST {base_url}/chat/completions`` with ``Authorization: Bearer <key>``;
the answer is ``choices[0].message.content`` and the token counts are
``usage.prompt_tokens`` / ``completion_tokens`` / ``total_tokens``
(documented the same way by OpenAI, GitHub Models, xAI and Mistral).
"""

from __future__ import annotations

from typing import Any, ClassVar

from signalfire.errors import ProviderResponseError
from signalfire.intelligence.models import Usage
from signalfire.intelligence.providers.base import BaseAIProvider, require


class ChatCompletionsProvider(BaseAIProvider):
    path: ClassVar[str] = "/chat/completions"
    #: the body field that caps the answer's length
    max_tokens_field: ClassVar[str] = "max_tokens"
    extra_headers: ClassVar[dict[str, str]] = {}

    def request_body(self, system: str, user: str) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            self.max_tokens_field: self.max_tokens,
            "stream": False,
        }

    def _call_api(self, system: str, user: str) -> tuple[str, Usage, str]:
        headers = {"authorization": f"Bearer {self.api_key()}", **self.extra_headers}
        data = self._post(self.path, self.request_body(system, user), headers)
        usage_raw = data.get("usage") or {}
        usage = Usage.of(usage_raw.get("prompt_tokens"), usage_raw.get("completion_tokens"),
                         usage_raw.get("total_tokens"))
        message = require(data, "choices", 0, "message")
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # some servers answer with content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str) or not content.strip():
            refusal = message.get("refusal") if isinstance(message, dict) else None
            err = ProviderResponseError(f"{self.name}: empty answer" + (f" (refusal: {str(refusal)[:200]})"
                                                                       if refusal else ""))
            err.usage = usage  # type: ignore[attr-defined]
            raise err
        return content, usage, str(data.get("model") or self.model_name)


class OpenAIRecommendationProvider(ChatCompletionsProvider):
    """OpenAI (https://api.openai.com/v1).  ``max_completion_tokens`` is the
    current name of the length cap (``max_tokens`` is deprecated there)."""

    name = "openai"
    default_model = "gpt-4o-mini"
    default_base_url = "https://api.openai.com/v1"
    max_tokens_field = "max_completion_tokens"


class CopilotRecommendationProvider(ChatCompletionsProvider):
    """GitHub Models, the inference API behind Copilot's model catalogue
    (https://models.github.ai/inference), with a GitHub token that has the
    ``models`` scope.  Model ids are ``publisher/name``."""

    name = "copilot"
    default_model = "openai/gpt-4o"
    default_base_url = "https://models.github.ai/inference"
    extra_headers = {"accept": "application/vnd.github+json", "x-github-api-version": "2022-11-28"}


class GrokRecommendationProvider(ChatCompletionsProvider):
    """xAI Grok (https://api.x.ai/v1)."""

    name = "grok"
    default_model = "grok-3-mini"
    default_base_url = "https://api.x.ai/v1"


class MistralRecommendationProvider(ChatCompletionsProvider):
    """Mistral AI (https://api.mistral.ai/v1)."""

    name = "mistral"
    default_model = "mistral-small-latest"
    default_base_url = "https://api.mistral.ai/v1"
