"""Every behaviour the offline generator writes, and `match`: which of them a request asks for.

Matching reads words, not templates: each behaviour lists the stems and short phrases people
use for it ("flickers", "lantern", "comes near"), and the forms a stem takes ("patrols",
"flickering", "enemies") all count. A request none fits matches nothing, so the caller can
say so instead of writing something else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import cache

from spark.llm.behaviours import combat, flow, motion, presentation, world
from spark.llm.behaviours.parts import Behaviour

_WORD = re.compile(r"[a-z0-9]+")
# Endings that keep a word in its stem's family: "jumps", "spinning", "collectible".
# fmt: off
_SUFFIXES = frozenset({
    "", "s", "es", "d", "ed", "r", "rs", "er", "ers", "y", "ly", "ing", "ning", "ping",
    "ling", "ner", "ners", "ment", "ion", "ions", "able", "ables", "ible", "ibles",
})
#: Words a phrase may skip: "a door that opens when the player comes near" reads
#: "door opens player comes near".
_FILLERS = frozenset({
    "a", "an", "the", "that", "which", "who", "to", "my", "your", "his", "her", "their",
    "me", "i", "it", "its", "is", "are", "when", "will", "can", "very", "some", "this",
})
# fmt: on
# Endings that replace a stem's final "e": "moving", "rotation".
_E_DROP_SUFFIXES = frozenset({"ing", "ion", "ions", "able"})
#: Idioms whose words would otherwise ask for something else ("time runs out" is no run).
_IDIOMS = {"runs out": "expires", "run out": "expire", "ran out": "expired"}

#: Words naming what no behaviour here writes: a request with one gets no behaviour at all,
#: rather than the part of it that happens to match ("an explosion that damages enemies" is
#: no health script, "object pooling for bullets" no projectile).
# fmt: off
_OUTSIDE = frozenset({
    "shader", "multiplayer", "lobby", "matchmaking", "netcode", "pool", "pooling",
    "explosion", "explode", "explodes", "grenade", "bomb", "minimap", "ragdoll",
    "pathfinding", "navmesh", "procedural", "tooltip", "crosshair", "particle", "particles",
    "localization", "localisation", "leaderboard", "achievement", "achievements", "climb",
    "climbs", "climbing", "ladder", "swim", "swims", "swimming", "grapple", "grappling",
})
#: Words for characters the player does not steer.
_NPCS = frozenset({
    "enemy", "enemies", "npc", "npcs", "boss", "turret", "turrets", "ai", "zombie",
    "zombies", "monster", "monsters", "bot", "bots", "guard", "guards", "sentry", "mob",
    "creature", "slime", "goblin", "villager", "shopkeeper", "opponent",
})
# fmt: on

#: What a player controller may also do while "controller" still asks for its movement.
_PLAYER_PARTS = frozenset({"jump", "shoot", "health"})

# fmt: off
_BEHAVIOURS: tuple[Behaviour, ...] = (
    Behaviour("movement", "a player controller that walks and runs", motion.movement,
              cues=("move", "walk", "run", "sprint", "strafe", "wasd", "drive", "steer"),
              phrases=("arrow key", "player movement"),
              weak=("player", "controller", "character", "hero", "avatar", "speed"),
              player_only=True,
              # "walks up to it", "moving platform": these move the object themselves, or
              # react to the player walking rather than walk it.
              dropped_by=("platform", "patrol", "chase", "projectile", "bob", "camera_follow",
                          "parallax", "trigger", "door", "dialogue", "keys", "checkpoint",
                          "heal_pickup", "level_exit", "hazard"),
              scene_only=False),
    Behaviour("jump", "jumping", motion.jump, cues=("jump", "hop", "leap"), scene_only=False),
    Behaviour("health", "health that takes damage, heals and dies", combat.health,
              cues=("health", "hp", "hitpoint", "die", "dying", "death", "dead", "life", "lives",
                    "heal"),
              weak=("damage", "hurt", "kill"), weak_unless=("hazard", "projectile"),
              dropped_by=("heal_pickup",), scene_only=False),
    Behaviour("health_bar", "a UI bar that shows health", combat.health_bar,
              cues=("healthbar", "hpbar", "lifebar"),
              phrases=("health bar", "hp bar", "life bar", "health slider", "health ui",
                       "ui bar", "health meter", "health display", "show health", "health hud"),
              implies=("health",)),
    Behaviour("rotate", "a steady spin", motion.rotate,
              cues=("rotate", "spin", "revolve", "twirl", "rotation"), scene_only=False),
    Behaviour("bob", "bobbing up and down", motion.bob,
              cues=("float", "hover", "bob", "levitate", "idle"), phrases=("up and down",),
              dropped_by=("platform",), scene_only=False),
    Behaviour("patrol", "patrolling between waypoints", motion.patrol,
              cues=("patrol", "patrolling", "waypoint", "sentry"),
              phrases=("walk between", "move between", "go between", "walk back and forth")),
    Behaviour("chase", "chasing the player in range", motion.chase,
              cues=("chase", "pursue", "hunt", "stalk"),
              phrases=("follow player", "run after", "come after", "go after", "toward player",
                       "towards player", "move toward", "head toward", "go toward"),
              dropped_by=("camera_follow",)),
    Behaviour("platform", "a moving platform", motion.platform, cues=("elevator",),
              phrases=("moving platform", "move platform", "platform move", "platform go",
                       "platform slide", "platform travel", "lift platform")),
    Behaviour("shoot", "shooting projectiles on Fire1", combat.shoot,
              cues=("shoot", "gun", "turret", "weapon", "blaster", "rifle", "pistol", "cannon"),
              weak=("fire",), weak_unless=("flicker",), scene_only=False),
    Behaviour("projectile", "a projectile that flies and damages what it hits",
              combat.projectile,
              cues=("projectile", "bullet", "missile", "fireball", "rocket", "laser"),
              phrases=("arrow fly", "arrow hit"),
              dropped_by=("shoot",)),
    Behaviour("spawn", "a spawner", combat.spawn, cues=("spawn", "spawner", "wave"),
              scene_only=False),
    Behaviour("hazard", "a hazard that damages the player on contact", combat.hazard,
              cues=("spike", "trap", "hazard", "lava", "acid", "thorn", "sawblade", "deadly"),
              phrases=("damage player", "hurt player", "kill player", "deal damage",
                       "kill zone")),
    Behaviour("keys", "keys and locks", world.keys,
              cues=("lock", "locked", "unlock", "keycard", "padlock"),
              phrases=("need key", "require key", "with key", "key pickup", "pick key",
                       "collect key", "find key", "golden key", "gold key", "key open",
                       "key unlock"),
              implies=("trigger",), on_enter=world.KEYS_ON_ENTER),
    Behaviour("door", "a door that opens and closes", world.door,
              cues=("door", "gate", "hatch", "portcullis", "doorway"),
              implies=("trigger",), on_enter=("Open();",), on_exit=("Close();",)),
    Behaviour("checkpoint", "a checkpoint the player respawns at", world.checkpoint,
              cues=("checkpoint", "respawn", "savepoint"),
              phrases=("save point", "respawn point"),
              implies=("trigger",), on_enter=("ReachCheckpoint();",)),
    Behaviour("heal_pickup", "a health pickup that heals the player", world.heal_pickup,
              cues=("medkit", "medikit", "potion", "healthpack"),
              phrases=("health pickup", "health pack", "first aid", "heal player",
                       "restore health", "health potion", "heal item"),
              implies=("trigger",), on_enter=world.HEAL_ON_ENTER),
    Behaviour("collect", "a collectible the player picks up", world.collect,
              cues=("coin", "collect", "pickup", "gem", "treasure", "loot", "token"),
              phrases=("pick up",), dropped_by=("heal_pickup", "keys"), scene_only=False),
    Behaviour("score", "a score counter on a UI Text", world.score,
              cues=("score", "scoreboard", "highscore"),
              phrases=("point counter", "count point", "earn point", "show point"),
              dropped_by=("collect",)),
    Behaviour("inventory", "an inventory of items", world.inventory,
              cues=("inventory", "backpack", "satchel"),
              phrases=("item slot", "carry item", "add item", "store item", "hold item",
                       "item list", "pick item")),
    Behaviour("dialogue", "dialogue lines shown on a UI panel", world.dialogue,
              cues=("dialogue", "dialog", "conversation", "npc", "talk", "speak", "speech",
                    "subtitle"),
              phrases=("show message", "text box"),
              implies=("trigger",), on_enter=("StartDialogue();",),
              on_exit=("EndDialogue();",)),
    Behaviour("level_exit", "a level exit that loads the next level", world.level_exit,
              cues=("goal", "finish", "portal", "exit"),
              phrases=("next level", "end level", "level end", "finish line", "complete level",
                       "level complete", "load level", "load scene", "change scene",
                       "next scene"),
              dropped_by=("timer", "menu", "pause"),
              implies=("trigger",), on_enter=("LoadNextLevel();",)),
    Behaviour("timer", "a countdown that ends the level", flow.timer,
              cues=("timer", "countdown", "stopwatch", "expire"),
              phrases=("count down", "time limit", "time out", "time left", "seconds left",
                       "time remaining")),
    Behaviour("pause", "a pause menu", flow.pause, cues=("pause", "resume", "unpause"),
              phrases=("freeze game", "stop time")),
    Behaviour("menu", "menu buttons: start, restart, quit", flow.menu,
              cues=("menu", "mainmenu"),
              phrases=("title screen", "start screen", "start button", "play button",
                       "quit button", "game over", "restart level", "restart button",
                       "quit game"),
              dropped_by=("pause", "timer")),
    Behaviour("save", "saving and loading", flow.save,
              cues=("save", "savegame", "persist", "persistence"),
              phrases=("load game", "save progress", "remember progress")),
    Behaviour("camera_follow", "a camera that follows a target", presentation.camera_follow,
              phrases=("camera follow", "follow camera", "follow cam", "camera track",
                       "track player", "cam follow"),
              weak=("camera", "cam"), weak_unless=("camera_shake", "parallax", "day_night"),
              scene_only=False),
    Behaviour("camera_shake", "camera shake", presentation.camera_shake,
              cues=("shake", "screenshake", "rumble", "jolt"), phrases=("screen shake",)),
    Behaviour("parallax", "a parallax background layer", presentation.parallax,
              cues=("parallax",),
              phrases=("background layer", "scrolling background", "background scroll",
                       "depth layer")),
    Behaviour("flicker", "a flickering light", presentation.flicker,
              cues=("flicker", "candle", "lantern", "torch", "flame", "campfire",
                    "fireplace")),
    Behaviour("day_night", "a day and night cycle", presentation.day_night,
              cues=("daynight", "sunrise", "sunset", "dusk", "dawn"),
              phrases=("day and night", "day night", "night and day", "time of day",
                       "day cycle", "sun cycle", "day to night")),
    Behaviour("audio", "a sound played on an event", presentation.audio,
              cues=("sound", "audio", "sfx", "music", "noise", "beep", "chime", "jingle",
                    "creak"),
              phrases=("play clip",)),
    # Written last so its enter and exit reactions can include everyone else's.
    Behaviour("trigger", "a trigger zone the player enters and leaves", world.trigger,
              cues=("trigger", "proximity", "sensor", "approach", "nearby"),
              phrases=("come near", "come close", "get close", "get near", "walk into", "walk up",
                       "step on", "step into", "walk through", "enter zone", "enter area",
                       "player enter", "player reach", "close by")),
)
# fmt: on


def _movement_weak_unless(behaviours: Sequence[Behaviour]) -> tuple[Behaviour, ...]:
    """The catalogue with movement's "player" counting only beside a player's own parts."""
    others = tuple(b.name for b in behaviours if b.name not in _PLAYER_PARTS | {"movement"})
    return tuple(replace(b, weak_unless=others) if b.name == "movement" else b for b in behaviours)


#: Every behaviour, in the order their members are written.
BEHAVIOURS: tuple[Behaviour, ...] = _movement_weak_unless(_BEHAVIOURS)
_BY_NAME = {behaviour.name: behaviour for behaviour in BEHAVIOURS}


def match(prompt: str) -> tuple[Behaviour, ...]:
    """The behaviours a plain request asks for, in writing order; () when none fits."""
    words = words_of(prompt)
    if not _OUTSIDE.isdisjoint(words):
        return ()
    npc = is_npc(words)
    phrase_words = [word for word in words if word not in _FILLERS]
    strong = {
        b.name
        for b in BEHAVIOURS
        if _mentions(words, b.cues) or any(_says(phrase_words, p) for p in b.phrases)
    }
    weak = {
        b.name
        for b in BEHAVIOURS
        if b.name not in strong
        and _mentions(words, b.weak)
        and not strong & set(b.weak_unless)
        and not (npc and b.player_only)
    }
    chosen = strong | weak
    chosen -= {name for name in chosen if chosen & set(_BY_NAME[name].dropped_by)}
    pending = list(chosen)
    while pending:
        for implied in _BY_NAME[pending.pop()].implies:
            if implied not in chosen:
                chosen.add(implied)
                pending.append(implied)
    return tuple(b for b in BEHAVIOURS if b.name in chosen)


def is_npc(words: Iterable[str]) -> bool:
    """Whether a request's words are about a character the player does not steer."""
    return not _NPCS.isdisjoint(words)


def words_of(prompt: str) -> list[str]:
    """A prompt's lowercase words, idioms replaced."""
    text = " ".join(_WORD.findall(prompt.lower()))
    for idiom, plain in _IDIOMS.items():
        text = re.sub(rf"\b{idiom}\b", plain, text)
    return text.split()


def _mentions(words: Iterable[str], stems: tuple[str, ...]) -> bool:
    """Whether any word is a form of any stem."""
    return bool(stems) and not _forms(stems).isdisjoint(words)


def _says(words: Sequence[str], phrase: str) -> bool:
    """Whether the words hold a form of each of the phrase's stems, in a row."""
    stems = phrase.split()
    forms = [_forms((stem,)) for stem in stems]
    last = len(words) - len(stems)
    return any(
        all(words[start + i] in forms[i] for i in range(len(stems))) for start in range(last + 1)
    )


@cache
def _forms(stems: tuple[str, ...]) -> frozenset[str]:
    """Every form of the stems: a stem plus a common English ending, "moving" for "move",
    "enemies" for "enemy". Made once per stem set, so a prompt costs set lookups only."""
    forms = {stem + suffix for stem in stems for suffix in _SUFFIXES}
    forms |= {stem[:-1] + end for stem in stems if stem.endswith("e") for end in _E_DROP_SUFFIXES}
    forms |= {stem[:-1] + "ies" for stem in stems if stem.endswith("y")}
    return frozenset(forms)
