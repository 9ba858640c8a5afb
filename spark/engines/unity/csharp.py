"""C# syntax checks with tree-sitter and C# naming helpers for Unity scripts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import tree_sitter_c_sharp
from tree_sitter import Language, Node, Parser, Tree

#: Past this many problems the rest are noise caused by the first ones.
MAX_DIAGNOSTICS = 50
_SNIPPET_CHARS = 30

DEFAULT_CLASS_NAME = "GeneratedBehaviour"
_MAX_NAME_WORDS = 3
_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9_]*$")
_WORD = re.compile(r"[A-Za-z0-9]+")
# fmt: off
_STOP_WORDS = frozenset({
    "a", "an", "the", "that", "which", "who", "with", "and", "or", "for", "to", "of",
    "when", "make", "makes", "create", "creates", "write", "script", "scripts", "unity",
    "component", "please", "in", "on", "at", "by", "from", "into", "it", "its", "is", "are",
    "be", "can", "should", "will", "this", "my", "me", "i", "some", "so", "as", "c", "cs",
    "csharp", "code", "class", "simple", "basic", "new", "want", "need",
})
# A class named like these would shadow the UnityEngine types and Unity messages that
# generated scripts use, or clash with the methods they declare (CS0542).
_RESERVED_CLASS_NAMES = frozenset({
    "Awake", "Camera", "Collider", "Collider2D", "Collect", "Component", "Debug", "Die",
    "Fire", "ForceMode", "ForceMode2D", "GameObject", "Heal", "Input", "Jump", "LateUpdate",
    "LayerMask", "Mathf", "MonoBehaviour", "Move", "Object", "Physics", "Physics2D",
    "Quaternion", "Random", "Rigidbody", "Rigidbody2D", "Rotate", "ScriptableObject",
    "Space", "Spawn", "Start", "Time", "Transform", "Update", "Vector2", "Vector3",
    # the offline generator's other Unity types and members
    "AddItem", "AddScore", "AddTo", "Application", "AudioClip", "AudioSource",
    "CheckpointReached", "Close", "Collected", "Collision", "Collision2D", "DeleteSave",
    "Died", "EndDialogue", "EndLevel", "Evaluate", "GetCooldown", "GetDesiredPosition",
    "GetItems", "GetJumpImpulse", "GetRotationStep", "GetScore", "GetVelocity",
    "HasCheckpoint", "HasItem", "HashSet", "HeldKeys", "IEnumerator", "IReadOnlyList",
    "InventoryChanged", "IsChasing", "IsGrounded", "KeyCode", "LastCheckpoint", "Light",
    "List", "LoadGame", "LoadNextLevel", "NextLine", "Open", "PlaySound", "PlayerPrefs",
    "QueryTriggerInteraction", "QuitGame", "QuitToMenu", "ReachCheckpoint", "RemoveItem",
    "ResetHealth", "RespawnAtCheckpoint", "RestartLevel", "Resume", "SaveGame",
    "SceneManager", "SendMessageOptions", "SerializeField", "SetPaused", "Shake",
    "ShowLine", "Slider", "SpawnLoop", "StartDialogue", "StartGame", "TakeDamage", "Text",
    "TimerEnded", "Tooltip", "Unlock", "Unlocked", "UnityEvent", "UpdateHealthBar",
    "UpdateScoreText", "UpdateTimerText", "WaitForSeconds",
})
# fmt: on


@dataclass(frozen=True)
class Diagnostic:
    """A problem found in C# source, at a 1-based line and column."""

    line: int
    column: int
    message: str
    severity: str = "error"


@cache
def _parser() -> Parser:
    """The process-wide C# parser, built on first use because loading the grammar costs time."""
    return Parser(Language(tree_sitter_c_sharp.language()))


def check_syntax(code: str, tree: Tree | None = None) -> tuple[Diagnostic, ...]:
    """Syntax errors in C# source, one per ERROR or MISSING node, at most MAX_DIAGNOSTICS;
    tree is code's tree when the caller has parsed it already (it is needed again)."""
    source = code.encode("utf-8")
    if tree is None:
        tree = _parser().parse(source)
    if not tree.root_node.has_error:
        return ()
    lines = source.split(b"\n")
    found: list[Diagnostic] = []
    pending = [tree.root_node]
    while pending and len(found) < MAX_DIAGNOSTICS:
        node = pending.pop()
        if node.is_error or node.is_missing:
            diagnostic = _diagnostic(node, lines)
            if diagnostic not in found:
                found.append(diagnostic)
        # has_error marks every ancestor of a problem, so clean subtrees are skipped.
        pending.extend(reversed([child for child in node.children if child.has_error]))
    return tuple(found)


def parses_cleanly(code: str) -> bool:
    """Whether the C# source has no syntax errors."""
    return not check_syntax(code)


def _diagnostic(node: Node, lines: list[bytes]) -> Diagnostic:
    """The diagnostic for one ERROR or MISSING node."""
    row, byte_column = node.start_point
    line = lines[row] if row < len(lines) else b""
    # tree-sitter counts bytes; editors count characters.
    column = len(line[:byte_column].decode("utf-8", errors="replace")) + 1
    if node.is_missing:
        message = f"missing '{node.type}'"
    else:
        message = f"syntax error near '{_snippet(node)}'"
    return Diagnostic(line=row + 1, column=column, message=message)


def _snippet(node: Node) -> str:
    """A short single-line excerpt of a node's source text."""
    text = (node.text or b"").decode("utf-8", errors="replace")
    first_line = text.strip().split("\n", 1)[0].strip()
    if len(first_line) > _SNIPPET_CHARS:
        return first_line[: _SNIPPET_CHARS - 3] + "..."
    return first_line


def class_name_from_prompt(prompt: str) -> str:
    """A PascalCase C# class name built from the meaningful words of a prompt."""
    words = [word for word in _WORD.findall(prompt) if word.lower() not in _STOP_WORDS]
    name = "".join(_pascal(word) for word in words[:_MAX_NAME_WORDS])
    if not name:
        return DEFAULT_CLASS_NAME
    if name[0].isdigit():
        name = "Script" + name
    if name in _RESERVED_CLASS_NAMES:
        name += "Behaviour"
    return name if _CLASS_NAME.match(name) else DEFAULT_CLASS_NAME


def _pascal(word: str) -> str:
    """A word capitalised for a PascalCase name, keeping short acronyms such as AI or NPC."""
    if word.isupper() and len(word) <= 4:
        return word
    return word[:1].upper() + word[1:].lower()


def parse(code: str) -> Tree:
    """The tree-sitter syntax tree of code."""
    return _parser().parse(code.encode())
