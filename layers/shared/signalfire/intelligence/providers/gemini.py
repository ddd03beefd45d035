"""Google Gemini: the Generative Language API.

``POST {base_url}/v1beta/models/{model}:generateContent`` with
``x-goog-api-key``; the answer is the text parts of ``candidates[0].content``
and the counts are ``usageMetadata.promptTokenCount`` /
``candidatesTokenCount`` / ``totalTokenCount``.
"""

from __future__ import annotations

from urllib.parse import quote

from signalfire.errors import ProviderResponseError
from signalfire.intelligence.models import Usage
from signalfire.intelligence.providers.base import BaseAIProvider


class GeminiRecommendationProvider(BaseAIProvider):
    name = "gemini"
    default_model = "gemini-2.0-flash"
    default_base_url = "https://generativelanguage.googleapis.com"

    def _call_api(self, system: str, user: str) -> tuple[str, Usage, str]:
        model = self.model_name.removeprefix("models/")
        body = {
            "systemInstruction": {"parts": [{"text": system}]},
            "contents": [{"role": "user", "parts": [{"text": user}]}],
            "generationConfig": {"maxOutputTokens": self.max_tokens, "responseMimeType": "application/json"},
        }
        data = self._post(f"/v1beta/models/{quote(model, safe='.-_')}:generateContent", body,
                          {"x-goog-api-key": self.api_key()})
        u = data.get("usageMetadata") or {}
        usage = Usage.of(u.get("promptTokenCount"), u.get("candidatesTokenCount"), u.get("totalTokenCount"))
        candidates = data.get("candidates") or []
        parts = (candidates[0].get("content") or {}).get("parts") or [] if candidates and isinstance(
            candidates[0], dict) else []
        text = "".join(p.get("text", "") for p in parts if isinstance(p, dict) and not p.get("thought"))
        if not text.strip():
            blocked = (data.get("promptFeedback") or {}).get("blockReason")
            finish = candidates[0].get("finishReason") if candidates and isinstance(candidates[0], dict) else None
            err = ProviderResponseError(f"gemini: no text in the answer (blockReason {blocked!r}, "
                                        f"finishReason {finish!r})")
            err.usage = usage  # type: ignore[attr-defined]
            raise err
        return text, usage, str(data.get("modelVersion") or self.model_name)
