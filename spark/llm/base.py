"""The port every script generator implements: the offline generator and OpenAI-compatible."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

#: (fraction 0.0-1.0 of the generation done, a short human message)
GenerationProgress = Callable[[float, str], None]


@dataclass(frozen=True)
class ScriptRequest:
    """What to write: a Unity C# class for a prompt."""

    prompt: str
    class_name: str
    base_class: str = "MonoBehaviour"
    namespace: str | None = None
    include_comments: bool = True
    reasoning: Literal["creative", "deterministic"] = "deterministic"
    #: set for a repair round: the previous answer and what was wrong with it
    repair_of: str | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class TokenUsage:
    """Tokens spent on a generation."""

    prompt: int
    completion: int


@dataclass(frozen=True)
class Generation:
    """A generated script and who wrote it."""

    code: str
    provider: str
    model: str
    tokens: TokenUsage
    #: what the caller should know about the code, shown as its diagnostics (a request the
    #: offline generator has no behaviour for)
    notes: tuple[str, ...] = ()


class ScriptGenerator(Protocol):
    """Writes a C# script for a request, reporting progress as it goes."""

    def generate(self, request: ScriptRequest, on_progress: GenerationProgress) -> Generation:
        """Write the script; on_progress may raise to stop the generation early."""
        ...


@dataclass(frozen=True)
class ToolCall:
    """A function the model asked to call: its call id, the tool's name, its JSON arguments."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ChatTurn:
    """One answer of a model offered tools: text, or tool calls (then usually no text)."""

    text: str | None
    calls: tuple[ToolCall, ...]
    provider: str
    model: str
    tokens: TokenUsage


@runtime_checkable
class ToolChat(Protocol):
    """A model that plans: it answers a conversation with text or calls of the given tools
    (OpenAI-compatible `messages` and `tools`)."""

    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ChatTurn:
        """The model's next answer to messages."""
        ...
