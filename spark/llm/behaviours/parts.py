"""The pieces behaviours are made of: the members each adds to a class, and how they compose."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldSpec:
    """A field: serialized ones show in the Inspector, the others hold runtime state."""

    type_name: str
    name: str
    default: str | None = None
    tooltip: str = ""
    serialized: bool = True


@dataclass(frozen=True)
class MethodSpec:
    """A plain method: its full signature and body lines indented relative to the body."""

    name: str
    signature: str
    body: tuple[str, ...]


@dataclass(frozen=True)
class MessagePart:
    """Lines a behaviour adds to a Unity message such as Update, merged with the others'.

    A part never returns early and names its locals after its behaviour, so parts of several
    behaviours can share one method body."""

    message: str
    body: tuple[str, ...]


@dataclass(frozen=True)
class Contribution:
    """Everything one behaviour adds to a class."""

    fields: tuple[FieldSpec, ...] = ()
    events: tuple[str, ...] = ()
    messages: tuple[MessagePart, ...] = ()
    methods: tuple[MethodSpec, ...] = ()
    required_components: tuple[str, ...] = ()
    usings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Context:
    """What shapes the templates: the kind of class, 2D or 3D, the other behaviours present,
    and what the player entering or leaving the trigger sets off."""

    behaviour: bool
    three_d: bool
    families: frozenset[str] = field(default_factory=frozenset)
    #: the request is about an enemy, turret or other character the player does not steer
    npc: bool = False
    enter_actions: tuple[str, ...] = ()
    exit_actions: tuple[str, ...] = ()

    def has(self, name: str) -> bool:
        """Whether the behaviour named name is part of the class too."""
        return name in self.families


@dataclass(frozen=True)
class Behaviour:
    """One thing a script can do, and the words of a request that ask for it.

    cues are word stems (any common ending counts: "patrols", "flickering"); phrases are
    stems in a row ("count down", "come near") read with filler words such as "the" left out;
    weak cues count only when no behaviour in weak_unless was asked for. A behaviour is left
    out when one in dropped_by is present (a shooter's bullets are its prefab, not its own
    script), and brings the ones in implies. on_enter / on_exit are lines the trigger runs
    when the player enters or leaves it. scene_only: on an asset (a ScriptableObject) only
    its Inspector settings are kept, since it has no scene to act in. player_only: its weak
    cues do not count in a request about an enemy or other character the player does not
    steer ("an enemy character" asks for no player controller).
    """

    name: str
    title: str
    build: Callable[[Context], Contribution]
    cues: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    weak_unless: tuple[str, ...] = ()
    dropped_by: tuple[str, ...] = ()
    implies: tuple[str, ...] = ()
    on_enter: tuple[str, ...] = ()
    on_exit: tuple[str, ...] = ()
    scene_only: bool = True
    player_only: bool = False


#: Unity messages in the order they are written, with their signatures.
MESSAGE_SIGNATURES: dict[str, str] = {
    "Awake": "private void Awake()",
    "Start": "private void Start()",
    "Update": "private void Update()",
    "LateUpdate": "private void LateUpdate()",
    "OnTriggerEnter": "private void OnTriggerEnter(Collider other)",
    "OnTriggerExit": "private void OnTriggerExit(Collider other)",
    "OnTriggerEnter2D": "private void OnTriggerEnter2D(Collider2D other)",
    "OnTriggerExit2D": "private void OnTriggerExit2D(Collider2D other)",
    "OnCollisionEnter": "private void OnCollisionEnter(Collision collision)",
    "OnCollisionExit": "private void OnCollisionExit(Collision collision)",
    "OnCollisionEnter2D": "private void OnCollisionEnter2D(Collision2D collision)",
    "OnCollisionExit2D": "private void OnCollisionExit2D(Collision2D collision)",
}

UI = "using UnityEngine.UI;"
SCENES = "using UnityEngine.SceneManagement;"
EVENTS = "using UnityEngine.Events;"
COLLECTIONS = "using System.Collections;"
GENERIC = "using System.Collections.Generic;"


def float_field(name: str, default: str, tooltip: str) -> FieldSpec:
    """A serialized float field."""
    return FieldSpec("float", name, default, tooltip)


def state(type_name: str, name: str, default: str | None = None) -> FieldSpec:
    """A private runtime field the Inspector does not show."""
    return FieldSpec(type_name, name, default, serialized=False)


def trigger_message(ctx: Context, leaving: bool = False) -> str:
    """The trigger message for the class's physics: 3D colliders or 2D ones."""
    name = "OnTriggerExit" if leaving else "OnTriggerEnter"
    return name if ctx.three_d else name + "2D"


def collision_message(ctx: Context, leaving: bool = False) -> str:
    """The collision message for the class's physics: 3D colliders or 2D ones."""
    name = "OnCollisionExit" if leaving else "OnCollisionEnter"
    return name if ctx.three_d else name + "2D"


def block(condition: str, body: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """An if statement around body."""
    return (f"if ({condition})", "{", *("    " + line if line else "" for line in body), "}")


def sound(ctx: Context) -> tuple[str, ...]:
    """The line that plays the class's sound, when the request asked for one."""
    return ("PlaySound();",) if ctx.has("audio") else ()


#: Behaviours that play the sound at their own moment (a door opening, a coin taken), so the
#: trigger does not play it again on entry.
SOUNDING = frozenset(
    {"door", "collect", "checkpoint", "jump", "shoot", "health", "timer", "keys", "heal_pickup"}
)
