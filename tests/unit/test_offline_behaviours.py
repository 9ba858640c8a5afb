"""The offline generator writes what a plain request asks for, composes the parts a request
combines into one class, and says so when it has nothing that fits instead of writing
something else."""

from __future__ import annotations

import itertools
import re

import pytest

from spark.contracts.params import GenerateScriptParams
from spark.engines.unity import csharp, scripts
from spark.engines.unity.csharp import check_syntax, class_name_from_prompt
from spark.llm.base import ScriptRequest
from spark.llm.behaviours.catalogue import BEHAVIOURS, match
from spark.llm.behaviours.parts import Context
from spark.llm.offline import OfflineGenerator, render

#: What each behaviour's code must hold: the members and statements that implement it.
MARKS: dict[str, tuple[str, ...]] = {
    "movement": ("moveSpeed", "runMultiplier", 'Input.GetAxis("Horizontal")'),
    "jump": ("jumpForce", 'Input.GetButtonDown("Jump")', "IsGrounded()"),
    "health": ("public void TakeDamage(int amount)", "public void Heal(int amount)", "Died"),
    "health_bar": ("Slider healthBar", "healthBar.value = currentHealth;"),
    "rotate": ("rotationSpeed", "transform.Rotate("),
    "bob": ("amplitude", "Mathf.Sin("),
    "patrol": ("Transform[] waypoints", "waypointIndex = (waypointIndex + 1) % waypoints.Length"),
    "chase": ("detectionRange", "public bool IsChasing()", "chaseTarget.position"),
    "platform": ("Mathf.PingPong(", "SetParent(transform)"),
    "shoot": ("projectilePrefab", "fireRate", "Instantiate(projectilePrefab"),
    "projectile": ("projectileSpeed", "Destroy(gameObject, lifetime);", '"TakeDamage", proj'),
    "spawn": ("spawnInterval", "StartCoroutine(SpawnLoop());"),
    "hazard": ('"TakeDamage", contactDamage',),
    "keys": ("HeldKeys.Contains(keyId)", "public void Unlock()"),
    "door": ("public void Open()", "public void Close()", "isOpen ?"),
    "checkpoint": ("LastCheckpoint = transform.position;", "RespawnAtCheckpoint("),
    "heal_pickup": ('SendMessage("Heal", healAmount',),
    "collect": ("scoreValue", "Collected?.Invoke(scoreValue);"),
    "score": ("public void AddScore(int points)", "scoreText.text"),
    "inventory": ("List<string> items", "public bool AddItem(string item)"),
    "dialogue": ("string[] dialogueLines", "public void StartDialogue()", "NextLine();"),
    "level_exit": ("SceneManager.LoadScene(SceneManager.GetActiveScene().buildIndex + 1);",),
    "timer": ("timeRemaining", "public void EndLevel()", "TimerEnded?.Invoke();"),
    "pause": ("Time.timeScale = paused ? 0f : 1f;", "KeyCode.Escape"),
    "menu": ("public void StartGame()", "Application.Quit();"),
    "save": ("PlayerPrefs.SetFloat(", "public void SaveGame()", "public bool LoadGame()"),
    "camera_follow": ("Vector3.Lerp(transform.position, desired", "void LateUpdate()"),
    "camera_shake": ("public void Shake()", "Random.insideUnitSphere * shakeMagnitude"),
    "parallax": ("parallaxFactor", "cameraDelta"),
    "flicker": (
        "Mathf.PerlinNoise(",
        "flickerLight.intensity",
        "[RequireComponent(typeof(Light))]",
    ),
    "day_night": ("timeOfDay", "sun.intensity"),
    "audio": ("AudioSource.PlayClipAtPoint(", "public void PlaySound()"),
    "trigger": ('other.CompareTag("Player")', "onPlayerEnter.Invoke();"),
}

#: Requests worded as people ask, not in the templates' words, and the behaviours each gets.
REQUESTS: dict[str, set[str]] = {
    "a lantern that flickers like a candle": {"flicker"},
    "a wall torch whose fire flickers": {"flicker"},
    "an enemy that patrols between waypoints": {"patrol"},
    "a guard walking between a few points": {"patrol"},
    "a door that opens when the player comes near": {"door", "trigger"},
    "a door that opens when the player comes near and plays a sound": {
        "door",
        "trigger",
        "audio",
    },
    "a timer that counts down and ends the level": {"timer"},
    "restart the level when time runs out": {"timer"},
    "make the camera shake when I get hit": {"camera_shake"},
    "a camera that follows the player smoothly": {"camera_follow"},
    "a third person camera that tracks the player and shakes on explosions": {
        "camera_follow",
        "camera_shake",
    },
    "make a player controller": {"movement"},
    "a character I can walk around with WASD and sprint": {"movement"},
    "a player controller that jumps": {"movement", "jump"},
    "a hero with hit points and a health bar on the HUD": {"health", "health_bar"},
    "a boss that takes damage and dies": {"health"},
    "a platform that moves back and forth": {"platform"},
    "an elevator that carries the player up": {"platform"},
    "a checkpoint flag": {"checkpoint", "trigger"},
    "a checkpoint that saves progress": {"checkpoint", "save", "trigger"},
    "a spinning coin the player can pick up": {"rotate", "collect"},
    "a gem that hovers and can be collected": {"bob", "collect"},
    "keep score and show it on screen": {"score"},
    "press escape to pause the game": {"pause"},
    "a title screen with play and quit buttons": {"menu"},
    "a background layer that scrolls slower than the camera for depth": {"parallax"},
    "an npc who says hello when you walk up to them": {"dialogue", "trigger"},
    "a conversation with the shopkeeper": {"dialogue", "trigger"},
    "play a creaking noise when someone enters the room trigger": {"audio", "trigger"},
    "let the player save and load their game": {"save"},
    "an enemy that chases the player when close": {"chase"},
    "a zombie that hunts the player and can be killed": {"chase", "health"},
    "a sentry that patrols and chases the player on sight": {"patrol", "chase"},
    "a cannon that shoots bullets": {"shoot"},
    "a fireball that flies forward and hurts what it hits": {"projectile"},
    "a spike trap that damages the player": {"hazard"},
    "lava that kills the player on touch": {"hazard"},
    "a spawner that creates enemies in waves": {"spawn"},
    "a windmill that rotates slowly": {"rotate"},
    "keys and locked doors": {"keys", "door", "trigger"},
    "a chest that needs a key to unlock": {"keys", "trigger"},
    "a medkit that restores health": {"heal_pickup", "trigger"},
    "an inventory the player can add items to": {"inventory"},
    "a portal to the next level": {"level_exit", "trigger"},
    "a day and night cycle for the sun": {"day_night"},
    "sunset and sunrise lighting over time": {"day_night"},
    "a floating crystal that bobs up and down": {"bob"},
    "a 3D player that runs, jumps and shoots": {"movement", "jump", "shoot"},
    "a car that drives with the arrow keys": {"movement"},
    "a slime that bounces toward the player": {"chase"},
    "an enemy AI that shoots at the player": {"shoot"},
}

#: Requests the offline generator has no behaviour for.
UNRELATED = [
    "a shader that renders fur",
    "multiplayer lobby with matchmaking",
    "a neural network that trains on images",
    "an HTTP client that downloads JSON",
    "procedural terrain generation with erosion",
    "inverse kinematics for a robot arm",
    "a localization system for twelve languages",
    "a wall the player can climb",
    "object pooling for bullets",
    "an explosion that damages nearby enemies",
    "a tooltip that shows item stats",
]


def _ignore(fraction: float, message: str) -> None:
    """A progress callback that ignores progress."""


def _code(prompt: str, base_class: str = "MonoBehaviour") -> str:
    request = ScriptRequest(prompt, class_name_from_prompt(prompt), base_class=base_class)
    return OfflineGenerator().generate(request, _ignore).code


def _method(code: str, signature: str) -> str:
    """The method declared with signature, up to its closing brace (a class-level member)."""
    start = code.index(signature)
    return code[start : code.index("\n    }\n", start)]


def _members(code: str) -> list[str]:
    """Names declared at the class level: fields, events and methods."""
    pattern = r"^    (?:\[SerializeField\] )?(?:public|private)[^=;(]*?(\w+)\s*(?:[=;(])"
    return re.findall(pattern, code, re.MULTILINE)


def test_at_least_twenty_five_behaviours_each_with_its_marks() -> None:
    """The offline generator covers 25+ behaviours, and the test knows each one's marks."""
    assert len(BEHAVIOURS) >= 25
    assert {b.name for b in BEHAVIOURS} == set(MARKS)


def test_at_least_forty_plain_requests_are_checked() -> None:
    assert len(REQUESTS) >= 40 and len(UNRELATED) >= 5


@pytest.mark.parametrize(("prompt", "expected"), list(REQUESTS.items()))
def test_a_plain_request_gets_the_behaviours_it_asks_for(prompt: str, expected: set[str]) -> None:
    """Each request matches exactly its behaviours; the code parses, declares the class and
    holds every mark of each."""
    assert {b.name for b in match(prompt)} == expected
    code = _code(prompt)
    assert check_syntax(code) == ()
    assert f"public class {class_name_from_prompt(prompt)} : MonoBehaviour" in code
    for name in expected:
        for mark in MARKS[name]:
            assert mark in code, f"{name}: {mark!r} missing"
    names = _members(code)
    assert len(names) == len(set(names)), f"duplicate members in {names}"


@pytest.mark.parametrize("prompt", UNRELATED)
def test_a_request_nothing_fits_gets_an_empty_class_and_a_diagnostic_saying_so(
    prompt: str,
) -> None:
    """No behaviour is written for an unrelated request: the class is empty, and the result's
    diagnostics say no behaviour matched and how to get a model."""
    assert match(prompt) == ()
    params = GenerateScriptParams(prompt=prompt)
    result = scripts.generate_script(params, lambda _p, _m: None, OfflineGenerator())
    code = result["code"]
    assert check_syntax(code) == ()
    (diagnostic,) = result["diagnostics"]
    assert diagnostic["message"].startswith("no offline behaviour matched")
    assert "SPARK_LLM_BASE_URL" in diagnostic["message"]
    assert result["class_name"] in diagnostic["message"]
    assert (diagnostic["severity"], diagnostic["source"]) == ("warning", "generator")
    assert scripts.from_generator(result)
    assert _members(code) == []
    assert "// SPARK's offline generator has no behaviour for this request" in code
    assert not any(mark in code for marks in MARKS.values() for mark in marks)


def test_an_empty_class_without_comments_is_still_just_the_class() -> None:
    """With comments off the empty class has no comment, and still says nothing it cannot do."""
    request = ScriptRequest(UNRELATED[0], "Fur", include_comments=False)
    generation = OfflineGenerator().generate(request, _ignore)
    assert generation.code == "using UnityEngine;\n\npublic class Fur : MonoBehaviour\n{\n}\n"
    assert generation.notes and "Fur is an empty class" in generation.notes[0]


def test_a_matched_request_has_no_generator_diagnostic() -> None:
    params = GenerateScriptParams(prompt="a lantern that flickers like a candle")
    result = scripts.generate_script(params, lambda _p, _m: None, OfflineGenerator())
    assert result["diagnostics"] == [] and not scripts.from_generator(result)


def test_a_door_near_the_player_opens_from_its_trigger_and_sounds_as_it_opens() -> None:
    """door + trigger + audio compose in one class: entering opens, opening plays the sound,
    and the sound is not played twice on entry."""
    code = _code("a door that opens when the player comes near and plays a sound")
    assert code.count("public class ") == 1
    enter = _method(code, "private void OnTriggerEnter2D(Collider2D other)")
    assert "Open();" in enter and "PlaySound();" not in enter
    assert "Close();" in _method(code, "private void OnTriggerExit2D(Collider2D other)")
    assert "PlaySound();" in _method(code, "public void Open()")


def test_a_locked_door_opens_only_once_unlocked() -> None:
    code = _code("a locked door that needs the gold key")
    enter = _method(code, "private void OnTriggerEnter2D(Collider2D other)")
    assert enter.index("Unlock();") < enter.index("Open();")
    assert "if (!unlocked)" in _method(code, "public void Open()")


def test_an_enemy_shoots_at_the_player_in_range_not_on_the_fire_button() -> None:
    code = _code("an enemy AI that shoots at the player")
    assert "Input." not in code
    assert 'FindGameObjectWithTag("Player")' in code and "<= fireRange" in code
    assert "Mathf.Atan2(aimAt.y, aimAt.x)" in _method(code, "public void Fire()")


def test_a_patrol_that_also_chases_stops_patrolling_while_chasing() -> None:
    code = _code("a sentry that patrols and chases the player on sight")
    assert "&& !IsChasing()" in code


def test_a_checkpoint_that_saves_keeps_the_checkpoint_reached_across_sessions() -> None:
    """Reaching it saves it; a new session starts from the saved one; no F5/F9 keys."""
    code = _code("a checkpoint that saves progress")
    assert "SaveGame();" in _method(code, "public void ReachCheckpoint()")
    assert 'PlayerPrefs.SetFloat(saveKey + ".x", LastCheckpoint.x);' in code
    assert "HasCheckpoint = true;" in _method(code, "public bool LoadGame()")
    assert "LoadGame();" in _method(code, "private void Start()") and "F5" not in code


def test_health_with_a_bar_redraws_the_bar_on_every_change() -> None:
    code = _code("a hero with hit points and a health bar on the HUD")
    assert "using UnityEngine.UI;" in code
    assert "UpdateHealthBar();" in _method(code, "public void TakeDamage(int amount)")
    assert "UpdateHealthBar();" in _method(code, "public void Heal(int amount)")


def test_3d_wording_gives_3d_physics() -> None:
    """'3D', 'first person' and 'third person' switch triggers and doors to 3D."""
    code = _code("a first person door that opens when the player comes near")
    assert "private void OnTriggerEnter(Collider other)" in code
    assert "Quaternion.RotateTowards" in code


#: Methods a script calls that MonoBehaviour (or Object) declares, not the script.
_INHERITED = frozenset({"Destroy", "Instantiate", "StartCoroutine"})
_CALL = re.compile(r"(?<![.\w])(?<!new )([A-Z]\w*)\(")
_LOCAL = re.compile(
    r"^\s+(?:float|int|var|Vector2|Vector3|Quaternion|Transform|GameObject) (\w+) ="
)


def _undeclared_calls(code: str) -> set[str]:
    """Methods the code calls that neither the class nor MonoBehaviour declares."""
    body = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("["))
    return set(_CALL.findall(body)) - set(_members(code)) - _INHERITED


def _repeated_locals(code: str) -> list[str]:
    """Locals declared twice in one method (C# refuses even in sibling and nested blocks
    when one encloses the other, so generated parts name theirs apart)."""
    repeated: list[str] = []
    for method in re.split(r"\n    (?=(?:public|private) )", code):
        names = [m for line in method.splitlines() for m in _LOCAL.findall(line)]
        repeated += [name for name in set(names) if names.count(name) > 1]
    return repeated


@pytest.mark.parametrize("base_class", ["MonoBehaviour", "ScriptableObject"])
@pytest.mark.parametrize("prompt", ["thing", "3d thing", "enemy thing", "3d enemy thing"])
def test_every_pair_of_behaviours_composes_into_one_clean_class(
    prompt: str, base_class: str
) -> None:
    """Any two behaviours share a class: it parses, no member or local is declared twice,
    a member both declare is the same member, and every method called is declared."""
    for first, second in itertools.combinations(BEHAVIOURS, 2):
        pair = tuple(b for b in BEHAVIOURS if b in (first, second))
        code = render(ScriptRequest(prompt, "Thing", base_class=base_class), pair)
        names = (first.name, second.name)
        assert check_syntax(code) == (), names
        members = _members(code)
        assert len(members) == len(set(members)), (names, members)
        assert _undeclared_calls(code) == set(), names
        assert _repeated_locals(code) == [], names
        scene, three_d, npc = base_class == "MonoBehaviour", "3d" in prompt, "enemy" in prompt
        ctx = Context(scene, three_d, frozenset(names), npc=npc)
        mine = {f.name: f for f in first.build(ctx).fields}
        theirs = {f.name: f for f in second.build(ctx).fields}
        for name in mine.keys() & theirs.keys():
            assert mine[name] == theirs[name], (names, name)


def test_every_request_calls_only_what_its_class_declares() -> None:
    for prompt in REQUESTS:
        code = _code(prompt)
        assert _undeclared_calls(code) == set(), prompt
        assert _repeated_locals(code) == [], prompt


@pytest.mark.parametrize("base_class", ["MonoBehaviour", "NetworkBehaviour", "ScriptableObject"])
def test_every_behaviour_alone_parses_on_every_base_class(base_class: str) -> None:
    for behaviour in BEHAVIOURS:
        code = render(ScriptRequest("thing", "Thing", base_class=base_class), (behaviour,))
        assert check_syntax(code) == (), behaviour.name
        if base_class == "ScriptableObject":
            assert re.search(r"void (Awake|Start|Update|LateUpdate|On\w+)\(", code) is None


def test_no_prompt_names_its_class_after_a_member_or_a_type_the_scripts_use() -> None:
    """A class named like one of its members does not compile (CS0542): every name a
    behaviour declares is one class_name_from_prompt steers clear of."""
    reserved = csharp._RESERVED_CLASS_NAMES
    families = frozenset(b.name for b in BEHAVIOURS)
    for behaviour, three_d, scene in itertools.product(BEHAVIOURS, (False, True), (False, True)):
        built = behaviour.build(Context(scene, three_d, families))
        names = {m.name for m in built.methods} | {f.name for f in built.fields}
        names |= {event.rstrip(";").split()[-1] for event in built.events}
        for name in names:
            if name[0].isupper():
                assert name in reserved, (behaviour.name, name)
                words = " ".join(re.findall(r"[A-Z][a-z0-9]*", name))
                assert class_name_from_prompt(words) != name


def test_matching_is_deterministic() -> None:
    prompt = "a door that opens when the player comes near and plays a sound"
    assert match(prompt) == match(prompt)
    assert _code(prompt) == _code(prompt)
