"""The offline planner: plain requests mapped to SPARK's tool calls by fixed rules, so an
`assist` job plans with no LLM configured (the embedded default).

"make a player controller that jumps" → generate_script; "preview the main scene" →
render_preview of the project's scene named like it ("main", else the first); "build for
WebGL" → unity_build. A request joining several ("… and show it in the main scene") plans
each, in the order written. Once the calls have run, the answer lists what each did and
names any part of the request it did not understand, instead of guessing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from spark.llm.base import ChatTurn, TokenUsage, ToolCall
from spark.llm.behaviours.catalogue import match

PROVIDER = "offline"
#: the frame size a planned preview asks for
PREVIEW_SIZE = (960, 540)

_SPLIT = re.compile(r"\s*(?:,|;|\band then\b|\bthen\b|\band\b|\balso\b)\s*", re.IGNORECASE)
_PREVIEW = re.compile(r"\b(preview|show|render|screenshot|let me see|look at)\b", re.I)
_BUILD = re.compile(r"\bbuild\b|\bexport (?:the )?game\b", re.I)
_SCRIPT = re.compile(
    r"\b(script|controller|component|behaviou?r|class|system|manager|spawner|mover|ai)\b"
    r"|^(?:please\s+)?(?:make|create|write|add|generate|give me|code)\b",
    re.I,
)
_LEAD = re.compile(
    r"^(?:please\s+|can you\s+|could you\s+|i want\s+|i need\s+)*"
    r"(?:make|create|write|add|generate|give me|code)?\s*(?:me\s+)?(?:an?|the|some)?\s*",
    re.I,
)
_STOP = {"a", "an", "the", "some", "that", "which", "who", "with", "to", "for", "in", "it", "me"}
#: words naming a build target, checked in this order (longer names first)
TARGET_WORDS: tuple[tuple[str, str], ...] = (
    ("webgl", "WebGL"),
    ("browser", "WebGL"),
    ("web", "WebGL"),
    ("windows", "StandaloneWindows64"),
    ("win64", "StandaloneWindows64"),
    ("pc", "StandaloneWindows64"),
    ("macos", "StandaloneOSX"),
    ("mac", "StandaloneOSX"),
    ("osx", "StandaloneOSX"),
    ("linux", "StandaloneLinux64"),
    ("android", "Android"),
    ("ios", "iOS"),
    ("iphone", "iOS"),
)


@dataclass(frozen=True)
class Planned:
    """The calls a request maps to, and the parts of it that map to nothing."""

    calls: tuple[tuple[str, dict[str, Any]], ...]
    not_understood: tuple[str, ...]


def plan(text: str, scenes: Sequence[str] = (), *, has_project: bool = False) -> Planned:
    """The tool calls text asks for, in the order it asks for them."""
    calls: list[tuple[str, dict[str, Any]]] = []
    unknown: list[str] = []
    for clause in (part.strip() for part in _SPLIT.split(text.strip().rstrip(".!?"))):
        if not clause:
            continue
        call = _call_for(clause, scenes, has_project)
        if call is not None:
            calls.append(call)
        elif calls and calls[-1][0] == "generate_script":
            # "a door that opens and closes": the rest of the script's description
            name, args = calls[-1]
            calls[-1] = (name, {**args, "prompt": f"{args['prompt']} and {clause}"})
        else:
            unknown.append(clause)
    return Planned(tuple(calls), tuple(unknown))


def _call_for(
    clause: str, scenes: Sequence[str], has_project: bool
) -> tuple[str, dict[str, Any]] | None:
    if _BUILD.search(clause) and (target_of(clause) or not _SCRIPT.search(clause)):
        target = target_of(clause)
        return ("unity_build", {"target": target}) if target else None
    if _PREVIEW.search(clause):
        return "render_preview", preview_args(clause, scenes)
    # A behaviour the offline generator knows ("a lantern that flickers") is a script too.
    if _SCRIPT.search(clause) or match(clause):
        return "generate_script", script_args(clause, has_project)
    return None


def target_of(clause: str) -> str | None:
    """The build target a clause names, if any."""
    words = set(re.findall(r"[a-z0-9]+", clause.lower()))
    return next((target for word, target in TARGET_WORDS if word in words), None)


def preview_args(clause: str, scenes: Sequence[str]) -> dict[str, Any]:
    """A render_preview of the scene the clause names (else one named like "main", else the
    project's first scene; none known: the editor's open scene)."""
    width, height = PREVIEW_SIZE
    args: dict[str, Any] = {"width": width, "height": height}
    scene = scene_for(clause, scenes)
    if scene is not None:
        args["scene"] = scene
    return args


def scene_for(clause: str, scenes: Sequence[str]) -> str | None:
    """The scene among scenes that clause means."""
    if not scenes:
        return None
    words = set(re.findall(r"[a-z0-9]+", clause.lower()))

    def stem(path: str) -> str:
        return path.rsplit("/", 1)[-1].removesuffix(".unity").lower()

    named = [s for s in scenes if stem(s) in words or any(w in stem(s) for w in words - _STOP)]
    main = [s for s in scenes if "main" in stem(s)]
    return (named or main or list(scenes))[0]


def script_args(clause: str, has_project: bool) -> dict[str, Any]:
    """A generate_script for the behaviour clause describes, written into the project when
    the session has one."""
    described = _LEAD.sub("", clause).strip() or clause
    prompt = described if len(described) >= 10 else f"a Unity script: {described}"
    args: dict[str, Any] = {"prompt": prompt, "class_name": class_name_of(described)}
    if has_project:
        args["write_to_project"] = True
    return args


def class_name_of(described: str) -> str:
    """A C# class name from the words before "that/which/with" ("player controller that
    jumps" → PlayerController)."""
    head = re.split(r"\b(?:that|which|who|with|to|for|so)\b", described, maxsplit=1)[0]
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", head) if w.lower() not in _STOP]
    name = "".join(w[:1].upper() + w[1:] for w in words[:4])
    return name if name else "GeneratedBehaviour"


class OfflinePlanner:
    """A ToolChat that plans by these rules: the calls first, then a summary of their
    outcomes. It reads only the user's words, so nothing a file or a result says steers it."""

    def __init__(self, scenes: Sequence[str] = (), *, has_project: bool = False) -> None:
        self._scenes = tuple(scenes)
        self._has_project = has_project

    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ChatTurn:
        """Plan the last user message; once its calls have answers, summarise them."""
        last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
        text = str(messages[last].get("content") or "") if last >= 0 else ""
        planned = plan(text, self._scenes, has_project=self._has_project)
        after = messages[last + 1 :]
        offered = {tool["function"]["name"] for tool in tools}
        if any(m.get("role") == "assistant" and m.get("tool_calls") for m in after):
            return _turn(summary([m for m in after if m.get("role") == "tool"], planned))
        calls = tuple(
            ToolCall(f"call_{i + 1}", name, json.dumps(args))
            for i, (name, args) in enumerate(planned.calls)
            if name in offered
        )
        if not calls:
            return _turn(summary([], planned))
        return ChatTurn(None, calls, PROVIDER, PROVIDER, TokenUsage(0, 0))


def _turn(text: str) -> ChatTurn:
    return ChatTurn(text, (), PROVIDER, PROVIDER, TokenUsage(0, 0))


def summary(answers: Sequence[dict[str, Any]], planned: Planned) -> str:
    """What ran, one line per call, and what of the request was not understood."""
    lines = [f"- {_outcome(str(answer.get('content') or ''))}" for answer in answers]
    parts = ["Here is what I did:", *lines] if lines else []
    if planned.not_understood:
        missed = "; ".join(f'"{part}"' for part in planned.not_understood)
        parts.append(
            f"I did not understand {missed}. I can write a script for a behaviour, preview a "
            "scene and build for a platform (WebGL, Windows, macOS, Linux, Android, iOS)."
        )
    if not parts:
        return "I did not understand the request, so I ran nothing."
    return "\n".join(parts)


def _outcome(content: str) -> str:
    try:
        found = json.loads(content)
    except ValueError:
        return content
    if not isinstance(found, dict):
        return content
    tool, status = found.get("tool", "call"), found.get("status", "")
    job = f" (job {found['job_id']})" if found.get("job_id") else ""
    said = found.get("summary") or found.get("reason") or ""
    return f"{tool}: {status}{job}{': ' + said if said else ''}"
