"""A deterministic, offline script generator that assembles Unity scripts from templates."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterable, Sequence
from functools import cache

from spark.llm.base import Generation, GenerationProgress, ScriptRequest, TokenUsage
from spark.llm.offline_templates import (
    FAMILIES,
    MESSAGE_SIGNATURES,
    TARGET_FAMILIES,
    Context,
    Contribution,
    Family,
    FieldSpec,
    MessagePart,
    MethodSpec,
    idle,
)

_INDENT = "    "
_CHUNKS = 10
_SUMMARY_CHARS = 120
#: Stands in for the system prompt a hosted model would also be sent.
_PROMPT_OVERHEAD_TOKENS = 20
_WORD = re.compile(r"[a-z0-9]+")
# Endings that keep a word in its stem's family: "jumps", "spinning", "collectible".
# fmt: off
_SUFFIXES = frozenset({
    "", "s", "es", "d", "ed", "r", "rs", "er", "ers", "y", "ly", "ing", "ning", "ping",
    "ner", "ners", "ment", "ion", "ions", "able", "ables", "ible", "ibles",
})
# fmt: on
# Endings that replace a stem's final "e": "moving", "rotation".
_E_DROP_SUFFIXES = frozenset({"ing", "ion", "ions", "able"})


class OfflineGenerator:
    """Writes a real Unity C# script for a prompt without a network or a model.

    The same request always gives the same code: `reasoning` is accepted but ignored.
    Token counts are estimates (words, not tokenizer tokens): the prompt's word count plus a
    fixed overhead, and the generated code's word count.
    """

    provider = "offline"
    model = "spark-offline-1"

    def __init__(self, latency_s: float = 0.0) -> None:
        """Create a generator that spreads its output over latency_s seconds (0 for at once)."""
        self._latency_s = max(latency_s, 0.0)

    def generate(self, request: ScriptRequest, on_progress: GenerationProgress) -> Generation:
        """Write the script, reporting progress after each of ~10 chunks; on_progress may raise."""
        message = f"writing {request.class_name}.cs"
        on_progress(0.0, message)
        code = render_script(request)
        # Pace the output like a streaming model so callers see progress and can cancel.
        for chunk in range(1, _CHUNKS + 1):
            if self._latency_s > 0:
                time.sleep(self._latency_s / _CHUNKS)
            on_progress(chunk / _CHUNKS, message)
        tokens = TokenUsage(
            prompt=len(request.prompt.split()) + _PROMPT_OVERHEAD_TOKENS,
            completion=len(code.split()),
        )
        return Generation(code=code, provider=self.provider, model=self.model, tokens=tokens)


def render_script(request: ScriptRequest) -> str:
    """The complete C# source for a request."""
    words = _WORD.findall(request.prompt.lower())
    families = detect_families(words)
    behaviour = is_behaviour(request.base_class)
    ctx = Context(
        behaviour=behaviour,
        three_d="3d" in words,
        families=frozenset(family.name for family in families),
    )
    builds = [family.build for family in families] or [idle]
    merged = _merge([build(ctx) for build in builds])
    lines = _class_lines(request, merged)
    namespace = (request.namespace or "").strip()
    if namespace:
        lines = [f"namespace {namespace}", "{", *_indent(lines), "}"]
    return "\n".join([*_usings(request.base_class, merged), "", *lines]) + "\n"


def detect_families(words: Sequence[str]) -> tuple[Family, ...]:
    """The template families a prompt's lowercase words ask for, in writing order."""
    names = {family.name for family in FAMILIES if _mentions(words, family.stems)}
    if not names & TARGET_FAMILIES:
        names |= {family.name for family in FAMILIES if _mentions(words, family.weak_stems)}
    return tuple(family for family in FAMILIES if family.name in names)


def is_behaviour(base_class: str) -> bool:
    """Whether a base class is a GameObject component, which has Unity messages and a transform."""
    name = base_class.strip().rsplit(".", 1)[-1]
    # StateMachineBehaviour is an asset without a transform or Update, despite its name.
    return name.endswith("Behaviour") and name != "StateMachineBehaviour"


def _mentions(words: Iterable[str], stems: tuple[str, ...]) -> bool:
    """Whether any word is a form of any stem."""
    return not _forms(stems).isdisjoint(words)


@cache
def _forms(stems: tuple[str, ...]) -> frozenset[str]:
    """Every form of the stems: a stem plus a common English ending, "moving" for "move",
    "enemies" for "enemy". Made once per family, so a prompt costs set lookups only."""
    forms = {stem + suffix for stem in stems for suffix in _SUFFIXES}
    forms |= {stem[:-1] + end for stem in stems if stem.endswith("e") for end in _E_DROP_SUFFIXES}
    forms |= {stem[:-1] + "ies" for stem in stems if stem.endswith("y")}
    return frozenset(forms)


def _merge(contributions: Sequence[Contribution]) -> Contribution:
    """One contribution holding every family's members once, with Unity messages merged."""
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
        required_component=next(
            (part.required_component for part in contributions if part.required_component), None
        ),
        uses_coroutine=any(part.uses_coroutine for part in contributions),
    )


def _usings(base_class: str, merged: Contribution) -> list[str]:
    """The using directives the script needs, in the usual sorted order."""
    usings = []
    if merged.uses_coroutine:
        usings.append("using System.Collections;")
    if base_class.strip() == "NetworkBehaviour":
        usings.append("using Unity.Netcode;")  # NetworkBehaviour lives in Netcode for GameObjects
    usings.append("using UnityEngine;")
    return usings


def _class_lines(request: ScriptRequest, merged: Contribution) -> list[str]:
    """The class declaration with its doc comment, attributes and members."""
    name, base = request.class_name.strip(), request.base_class.strip()
    lines: list[str] = []
    if request.include_comments:
        quoted = _summary_text(request.prompt)
        lines += ["/// <summary>", f'/// Generated for the prompt "{quoted}".', "/// </summary>"]
    if merged.required_component:
        lines.append(f"[RequireComponent(typeof({merged.required_component}))]")
    if base.rsplit(".", 1)[-1] == "ScriptableObject":
        lines.append(f'[CreateAssetMenu(fileName = "{name}", menuName = "SPARK/{name}")]')
    lines += [f"public class {name} : {base}", "{"]
    lines += _indent(_members(merged, request.include_comments))
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
