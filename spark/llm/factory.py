"""Choosing the generator: an OpenAI-compatible endpoint when configured, else offline."""

from __future__ import annotations

from spark.config import Settings
from spark.kv.factory import make_breaker_store
from spark.llm.base import ScriptGenerator
from spark.llm.offline import OfflineGenerator
from spark.resilience.breaker import CircuitBreaker, breaker_policy


def make_generator(settings: Settings) -> ScriptGenerator:
    """The script generator for these settings."""
    if not settings.llm_base_url:
        return OfflineGenerator(latency_s=settings.offline_latency_s)
    from spark.llm.openai_compat import ModelRoute, OpenAICompatibleGenerator

    model = settings.llm_model or "gpt-4o-mini"
    routes = {
        "deterministic": ModelRoute(model, settings.llm_deterministic_temperature),
        "creative": ModelRoute(
            settings.llm_creative_model or model, settings.llm_creative_temperature
        ),
    }
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    breaker = CircuitBreaker("llm", make_breaker_store(settings), breaker_policy(settings))
    return OpenAICompatibleGenerator(
        settings.llm_base_url, key, routes, settings.llm_timeout_s, breaker
    )
