"""Provider registry (seed: PROVIDERS, get_provider)."""

from __future__ import annotations

from typing import Any

from signalfire.errors import ConfigurationError
from signalfire.intelligence.providers.base import BaseAIProvider, BaseProvider, ProviderAnswer
from signalfire.intelligence.providers.chat_completions import (
    CopilotRecommendationProvider,
    GrokRecommendationProvider,
    MistralRecommendationProvider,
    OpenAIRecommendationProvider,
)
from signalfire.intelligence.providers.claude import ClaudeRecommendationProvider
from signalfire.intelligence.providers.gemini import GeminiRecommendationProvider
from signalfire.intelligence.providers.local import LocalRecommendationProvider
from signalfire.intelligence.providers.ollama import OllamaRecommendationProvider

PROVIDERS: dict[str, type[BaseProvider]] = {
    "local": LocalRecommendationProvider,
    "openai": OpenAIRecommendationProvider,
    "claude": ClaudeRecommendationProvider,
    "gemini": GeminiRecommendationProvider,
    "copilot": CopilotRecommendationProvider,
    "grok": GrokRecommendationProvider,
    "ollama": OllamaRecommendationProvider,
    "mistral": MistralRecommendationProvider,
}
#: The types an IntelligenceProvider item may name (local needs no item).
AI_PROVIDERS = tuple(k for k in PROVIDERS if k != "local")


def get_provider(name: str, config: dict[str, Any] | None = None, **kwargs: Any) -> BaseProvider:
    """Instantiate a provider by type name."""
    cls = PROVIDERS.get(name)
    if cls is None:
        raise ConfigurationError(f"unknown intelligence provider {name!r}; one of: {', '.join(PROVIDERS)}")
    if issubclass(cls, BaseAIProvider):
        return cls(config, **kwargs)
    return cls(config, configured_name=kwargs.get("configured_name", ""))


def describe_types() -> list[dict[str, Any]]:
    """What GET /intelligence/providers/ lists as available types."""
    out = []
    for name, cls in PROVIDERS.items():
        entry: dict[str, Any] = {"provider": name, "default_model": cls.default_model,
                                 "config_keys": sorted(cls.config_keys)}
        if issubclass(cls, BaseAIProvider):
            entry.update(default_base_url=cls.default_base_url, requires_key=cls.requires_key)
        out.append(entry)
    return out


__all__ = ["AI_PROVIDERS", "PROVIDERS", "BaseAIProvider", "BaseProvider", "ProviderAnswer", "describe_types",
           "get_provider"]
