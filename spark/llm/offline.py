"""A deterministic, offline script generator that assembles Unity scripts from templates."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterable, Sequence

from spark.llm.base import Generation, GenerationProgress, ScriptRequest, TokenUsage
from spark.llm.behaviours.catalogue import BEHAVIOURS, is_npc, match, words_of
from spark.llm.behaviours.parts import (
    MESSAGE_SIGNATURES,
    Behaviour,
    Context,
    Contribution,
    FieldSpec,
    MessagePart,
    MethodSpec,
)

_INDENT = "    "
_CHUNKS = 10
_SUMMARY_CHARS = 120
#: Stands in for the system prompt a hosted model would also be sent.
_PROMPT_OVERHEAD_TOKENS = 20
_THREE_D = re.compile(r"\b(3d|fps|first person|third person)\b")
#: The diagnostic of a request no behaviour fits: what was written instead, and the way out.
NO_MATCH = (
    "no offline behaviour matched: SPARK's offline generator writes {count} common behaviours "
    "(player controllers, doors and triggers, patrols, health bars, timers, flickering lights "
    "…) and none fits this request, so {class_name} is an empty class; configure "
    "SPARK_LLM_BASE_URL for a model that writes any script"
)

_EMPTY_NOTE = (
    "// SPARK's offline generator has no behaviour for this request, so this class is empty.",
    "// Configure SPARK_LLM_BASE_URL for a model that writes it.",
)


class OfflineGenerator:
    """Writes a real Unity C# script for a prompt without a network or a model.

    The same request always gives the same code: `reasoning` is accepted but ignored.
    Token counts are estimates (words, not tokenizer tokens): the prompt's word count plus a
    fixed overhead, and the generated code's word count. A request no behaviour fits gets
    an empty class and a note saying so, never a script that does something else.
    """

    provider = "offline"
    model = "spark-offline-1"

    def __init__(self, latency_s: float = 0.0) -> None:
        """Create a generator that spreads its output over latency_s seconds (0 for at once)."""
        self._latency_s = max(latency_s, 0.0)

    def generate(self, request: ScriptRequest, on_progress: GenerationProgress) -> Generation:
        """Write the script, reporting progress after each of ~10 chunks; on_progress may raise."""
        behaviours = match(request.prompt)
        message = f"writing {request.class_name}.cs"
        if not behaviours:
            message = f"writing an empty {request.class_name}.cs: no offline behaviour matched"
        on_progress(0.0, message)
        code = render(request, behaviours)
        # Pace the output like a streaming model so callers see progress and can cancel.
        for chunk in range(1, _CHUNKS + 1):
            if self._latency_s > 0:
                time.sleep(self._latency_s / _CHUNKS)
            on_progress(chunk / _CHUNKS, message)
        tokens = TokenUsage(
            prompt=len(request.prompt.split()) + _PROMPT_OVERHEAD_TOKENS,
            completion=len(code.split()),
        )
        notes = () if behaviours else (no_match_note(request.class_name),)
        return Generation(code, self.provider, self.model, tokens, notes=notes)


def no_match_note(class_name: str) -> str:
    """What the result says when no behaviour fits a request."""
    return NO_MATCH.format(count=len(BEHAVIOURS), class_name=class_name)


def render_script(request: ScriptRequest) -> str:
    """The complete C# source for a request (an empty class when no behaviour fits)."""
    return render(request, match(request.prompt))


def render(request: ScriptRequest, behaviours: Sequence[Behaviour]) -> str:
    """The complete C# source of a class doing each of behaviours, in one class."""
    words = words_of(request.prompt)
    ctx = Context(
        behaviour=is_behaviour(request.base_class),
        three_d=_THREE_D.search(" ".join(words)) is not None,
        families=frozenset(b.name for b in behaviours),
        npc=is_npc(words),
        enter_actions=tuple(line for b in behaviours for line in b.on_enter),
        exit_actions=tuple(line for b in behaviours for line in b.on_exit),
    )
    merged = _merge([_contribution(b, ctx) for b in behaviours])
    lines = _class_lines(request, merged, empty=not behaviours)
    namespace = (request.namespace or "").strip()
    if namespace:
        lines = [f"namespace {namespace}", "{", *_indent(lines), "}"]
    return "\n".join([*_usings(request.base_class, merged), "", *lines]) + "\n"


def _contribution(behaviour: Behaviour, ctx: Context) -> Contribution:
    """What a behaviour adds: on an asset, a scene behaviour keeps its Inspector settings."""
    built = behaviour.build(ctx)
    if ctx.behaviour or not behaviour.scene_only:
        return built
    return Contribution(fields=tuple(f for f in built.fields if f.serialized), usings=built.usings)


def is_behaviour(base_class: str) -> bool:
    """Whether a base class is a GameObject component, which has Unity messages and a transform."""
    name = base_class.strip().rsplit(".", 1)[-1]
    # StateMachineBehaviour is an asset without a transform or Update, despite its name.
    return name.endswith("Behaviour") and name != "StateMachineBehaviour"


def _merge(contributions: Sequence[Contribution]) -> Contribution:
    """One contribution holding every behaviour's members once, with Unity messages merged."""
    fields: dict[str, FieldSpec] = {}
    methods: dict[str, MethodSpec] = {}
    events: dict[str, None] = {}
    bodies: dict[str, list[str]] = {name: [] for name in MESSAGE_SIGNATURES}
    for part in contributions:
        for spec in part.fields:
            fields.setdefault(spec.name, spec)
        for method in part.methods:
            methods.setdefault(method.name, method)
        events.update(dict.fromkeys(part.events))
        for piece in part.messages:
            body = bodies[piece.message]
            body.extend(["", *piece.body] if body else piece.body)
    return Contribution(
        fields=tuple(fields.values()),
        events=tuple(events),
        messages=tuple(MessagePart(name, tuple(body)) for name, body in bodies.items() if body),
        methods=tuple(methods.values()),
        required_components=tuple(
            dict.fromkeys(c for part in contributions for c in part.required_components)
        ),
        usings=tuple(dict.fromkeys(u for part in contributions for u in part.usings)),
    )


def _usings(base_class: str, merged: Contribution) -> list[str]:
    """The using directives the script needs, in the usual sorted order."""
    usings = [*merged.usings, "using UnityEngine;"]
    if base_class.strip() == "NetworkBehaviour":
        usings.append("using Unity.Netcode;")  # NetworkBehaviour lives in Netcode for GameObjects
    return sorted(set(usings), key=lambda using: using.rstrip(";"))


def _class_lines(request: ScriptRequest, merged: Contribution, empty: bool) -> list[str]:
    """The class declaration with its doc comment, attributes and members; an empty class
    says in its body, when comments are wanted, that nothing was written for the request."""
    name, base = request.class_name.strip(), request.base_class.strip()
    lines: list[str] = []
    if request.include_comments:
        quoted = _summary_text(request.prompt)
        lines += ["/// <summary>", f'/// Generated for the prompt "{quoted}".', "/// </summary>"]
    lines += [f"[RequireComponent(typeof({c}))]" for c in merged.required_components]
    if base.rsplit(".", 1)[-1] == "ScriptableObject":
        lines.append(f'[CreateAssetMenu(fileName = "{name}", menuName = "SPARK/{name}")]')
    lines += [f"public class {name} : {base}", "{"]
    lines += _indent(_members(merged, request.include_comments))
    if empty and request.include_comments:
        lines += _indent(_EMPTY_NOTE)
    lines.append("}")
    return lines


def _members(merged: Contribution, comments: bool) -> list[str]:
    """The class body: fields, events, Unity messages, then methods, separated by blank lines."""
    fields = merged.fields
    serialized = [line for spec in fields if spec.serialized for line in _field(spec, comments)]
    state = [line for spec in fields if not spec.serialized for line in _field(spec, False)]
    sections = [serialized, state, list(merged.events)]
    sections += [_method(MESSAGE_SIGNATURES[part.message], part.body) for part in merged.messages]
    sections += [_method(method.signature, method.body) for method in merged.methods]
    lines: list[str] = []
    for section in sections:
        if section:
            lines += ["", *section] if lines else section
    return lines


def _field(spec: FieldSpec, comments: bool) -> list[str]:
    """A field declaration, with a Tooltip when comments are wanted and the field is serialized."""
    initializer = f" = {spec.default}" if spec.default is not None else ""
    if not spec.serialized:
        return [f"private {spec.type_name} {spec.name}{initializer};"]
    lines = [f'[Tooltip("{_string_literal(spec.tooltip)}")]'] if comments and spec.tooltip else []
    lines.append(f"[SerializeField] private {spec.type_name} {spec.name}{initializer};")
    return lines


def _method(signature: str, body: Sequence[str]) -> list[str]:
    """A method with its body in braces."""
    return [signature, "{", *_indent(body), "}"]


def _indent(lines: Iterable[str]) -> list[str]:
    """Lines indented one level, leaving blank lines empty."""
    return [_INDENT + line if line else "" for line in lines]


def _string_literal(text: str) -> str:
    """Text escaped for a C# regular string literal."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _summary_text(prompt: str) -> str:
    """The prompt made safe for a one-line XML doc comment, at most 120 characters."""
    text = " ".join(prompt.split())  # also folds the Unicode line breaks C# honours
    text = "".join(char for char in text if char.isprintable())
    text = html.escape(text.replace("*/", "* /"), quote=False)
    if len(text) <= _SUMMARY_CHARS:
        return text
    cut = text[: _SUMMARY_CHARS - 3]
    ampersand = cut.rfind("&")
    if ampersand != -1 and ";" not in cut[ampersand:]:
        cut = cut[:ampersand]  # never leave half an XML entity behind
    return cut.rstrip() + "..."
