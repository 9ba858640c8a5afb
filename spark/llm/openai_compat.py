"""The OpenAI-compatible adapter (OpenAI, Azure, vLLM, Ollama, LM Studio …) via the openai SDK."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import openai
from openai import OpenAI

from spark.errors import DependencyUnavailable, JobFailure
from spark.llm import prompting
from spark.llm.base import (
    ChatTurn,
    Generation,
    GenerationProgress,
    ScriptRequest,
    TokenUsage,
    ToolCall,
)
from spark.resilience.breaker import BreakerOpen, CircuitBreaker
from spark.resilience.retry import call_with_retry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRoute:
    """Which model and temperature a `reasoning` value uses."""

    model: str
    temperature: float


def is_transient(exc: BaseException) -> bool:
    """Errors worth another attempt: rate limits, timeouts, lost connections, 5xx."""
    return isinstance(
        exc,
        openai.RateLimitError
        | openai.APIConnectionError
        | openai.APITimeoutError
        | openai.InternalServerError,
    )


class OpenAICompatibleGenerator:
    """Writes scripts with a chat-completions model, by tool call or fenced code."""

    provider = "openai-compatible"

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        routes: Mapping[str, ModelRoute],
        timeout_s: float = 60.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        # The SDK's own retries are off: the shared policy (with Retry-After) does that.
        self._client = OpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s, max_retries=0
        )
        self._routes = dict(routes)
        self._breaker = breaker

    def generate(self, request: ScriptRequest, on_progress: GenerationProgress) -> Generation:
        """Ask the model for the file (or its repair); raises JobFailure if no code comes back."""
        route = self._routes[request.reasoning]
        on_progress(0.1, f"asking {route.model}")
        messages = _messages(request)
        try:
            response = call_with_retry(
                lambda: self._guarded(route, messages), is_transient, "LLM call"
            )
        except BreakerOpen:
            raise
        except Exception as exc:
            if not is_transient(exc):
                raise
            # Retries spent on a flaky provider: the job waits and comes back, not fails.
            raise DependencyUnavailable(f"the LLM is unavailable ({exc})", retry_after=5) from exc
        code = _code_of(response)
        if code is None:
            raise JobFailure("no_code", "the model answered without a C# file")
        tokens = _usage(response)
        on_progress(1.0, f"{route.model} answered")
        return Generation(code, self.provider, str(response.model or route.model), tokens)

    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ChatTurn:
        """The model's next answer to a conversation offered tools (the deterministic route):
        text, or the tool calls it makes."""
        route = self._routes["deterministic"]
        try:
            response = call_with_retry(
                lambda: self._call(lambda: self._plan(route, messages, tools)),
                is_transient,
                "LLM call",
            )
        except BreakerOpen:
            raise
        except Exception as exc:
            if not is_transient(exc):
                raise
            raise DependencyUnavailable(f"the LLM is unavailable ({exc})", retry_after=5) from exc
        choice = response.choices[0] if response.choices else None
        message = choice.message if choice is not None else None
        calls = tuple(
            ToolCall(str(call.id), str(call.function.name), str(call.function.arguments or ""))
            for call in (getattr(message, "tool_calls", None) or [])
        )
        text = getattr(message, "content", None)
        return ChatTurn(
            text, calls, self.provider, str(response.model or route.model), _usage(response)
        )

    def _plan(
        self, route: ModelRoute, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> Any:
        completions: Any = self._client.chat.completions
        return completions.create(
            model=route.model, messages=messages, temperature=route.temperature, tools=tools
        )

    def _call(self, call: Any) -> Any:
        if self._breaker is None:
            return call()
        return self._breaker.call(call, is_transient)

    def _guarded(self, route: ModelRoute, messages: list[dict[str, Any]]) -> Any:
        if self._breaker is None:
            return self._complete(route, messages)
        return self._breaker.call(lambda: self._complete(route, messages), is_transient)

    def _complete(self, route: ModelRoute, messages: list[dict[str, Any]]) -> Any:
        # Messages are built as plain dicts; the SDK's TypedDict overloads add nothing here.
        completions: Any = self._client.chat.completions
        try:
            return completions.create(
                model=route.model,
                messages=messages,
                temperature=route.temperature,
                tools=[prompting.WRITE_SCRIPT_TOOL],
                tool_choice={"type": "function", "function": {"name": "write_script"}},
            )
        except openai.BadRequestError:
            # Some local servers reject tools: ask again for a fenced block instead.
            log.info("the server refused tool calls; asking for fenced code")
            return completions.create(
                model=route.model, messages=messages, temperature=route.temperature
            )


def list_models(base_url: str, api_key: str | None, timeout_s: float) -> list[str]:
    """The ids of the models the server offers (GET {base_url}/models): a cheap liveness call
    that also proves the key is accepted."""
    client = OpenAI(
        base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s, max_retries=0
    )
    try:
        return [model.id for model in client.models.list().data]
    finally:
        client.close()


def _usage(response: Any) -> TokenUsage:
    usage = getattr(response, "usage", None)
    return TokenUsage(
        prompt=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion=int(getattr(usage, "completion_tokens", 0) or 0),
    )


def _messages(request: ScriptRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": prompting.system_prompt(request)},
        {"role": "user", "content": prompting.user_message(request)},
    ]
    if request.repair_of is not None:
        messages += [
            {"role": "assistant", "content": f"```csharp\n{request.repair_of}\n```"},
            {
                "role": "user",
                "content": prompting.repair_message(request.repair_of, request.problems),
            },
        ]
    return messages


def _code_of(response: Any) -> str | None:
    choice = response.choices[0] if response.choices else None
    if choice is None:
        return None
    for call in choice.message.tool_calls or []:
        if call.function.name == "write_script":
            try:
                code = json.loads(call.function.arguments).get("code")
            except (ValueError, AttributeError):
                continue
            if isinstance(code, str) and code.strip():
                return code
    return prompting.code_from_text(choice.message.content or "")
