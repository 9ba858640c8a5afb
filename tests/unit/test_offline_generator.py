"""The offline generator writes deterministic, parseable Unity scripts that fit the prompt."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import tree_sitter_c_sharp
from tree_sitter import Language, Node, Parser

from spark.engines.unity.csharp import check_syntax, class_name_from_prompt
from spark.llm.base import Generation, ScriptGenerator, ScriptRequest
from spark.llm.offline import OfflineGenerator

#: prompt -> names that must appear whatever the base class (fields both kinds declare)
PROMPTS: dict[str, tuple[str, ...]] = {
    "a player controller that moves with WASD": ("moveSpeed",),
    "a platformer character that can jump": ("jumpForce",),
    "a boss with health that takes damage and dies": ("maxHealth", "currentHealth", "TakeDamage"),
    "a windmill blade that rotates slowly": ("rotationSpeed",),
    "a turret gun that fires bullets": ("projectilePrefab", "fireRate", "Fire("),
    "a wave spawner": ("prefab", "spawnInterval", "Spawn("),
    "a gold coin pickup that adds to the score": ("scoreValue",),
    "a smooth camera that follows the player": ("offset", "smoothSpeed"),
    "a 3D player that walks, jumps and shoots": ("moveSpeed", "jumpForce", "fireRate"),
    "a 2D hero with health who jumps and collects coins": ("jumpForce", "maxHealth", "scoreValue"),
    "enemies that spin and take damage": ("rotationSpeed", "TakeDamage"),
    "a floating cloud": ("speed", "amplitude"),
}
BASES = ("MonoBehaviour", "NetworkBehaviour", "ScriptableObject")
NAMESPACES = (None, "Game.Gameplay")

_PARSER = Parser(Language(tree_sitter_c_sharp.language()))


def _ignore(fraction: float, message: str) -> None:
    """A progress callback that ignores progress."""


def _generate(
    prompt: str,
    base_class: str = "MonoBehaviour",
    namespace: str | None = None,
    include_comments: bool = True,
) -> Generation:
    """Generate a script for a prompt with the class name derived from it."""
    request = ScriptRequest(
        prompt=prompt,
        class_name=class_name_from_prompt(prompt),
        base_class=base_class,
        namespace=namespace,
        include_comments=include_comments,
    )
    return OfflineGenerator().generate(request, _ignore)


def _walk(node: Node) -> Iterator[Node]:
    """Every node of a syntax tree, depth first."""
    yield node
    for child in node.children:
        yield from _walk(child)


def _name(node: Node) -> str:
    """The identifier a declaration or declarator introduces."""
    name = node.child_by_field_name("name") or node.children[0]
    return (name.text or b"").decode()


def _member_names(code: str) -> list[str]:
    """The names of the class's fields, events and methods."""
    names: list[str] = []
    for node in _walk(_PARSER.parse(code.encode()).root_node):
        if node.type in ("field_declaration", "event_field_declaration"):
            names += [_name(d) for d in _walk(node) if d.type == "variable_declarator"]
        elif node.type == "method_declaration":
            names.append(_name(node))
    return names


@pytest.mark.parametrize("comments", [True, False])
@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("base_class", BASES)
@pytest.mark.parametrize("prompt", list(PROMPTS))
def test_generated_script_parses_and_declares_the_class(
    prompt: str, base_class: str, namespace: str | None, comments: bool
) -> None:
    """Every prompt and option combination yields clean C# declaring the requested class."""
    code = _generate(
        prompt, base_class=base_class, namespace=namespace, include_comments=comments
    ).code
    assert check_syntax(code) == ()
    assert f"public class {class_name_from_prompt(prompt)} : {base_class}" in code
    assert code.startswith("using ") and "using UnityEngine;" in code
    if namespace:
        assert f"namespace {namespace}\n{{\n    " in code
        assert code.rstrip().endswith("}\n}")
    else:
        assert "namespace" not in code
    names = _member_names(code)
    assert len(names) == len(set(names)), f"duplicate members in {names}"


@pytest.mark.parametrize("base_class", BASES)
@pytest.mark.parametrize(("prompt", "members"), list(PROMPTS.items()))
def test_members_fit_the_prompt(prompt: str, members: tuple[str, ...], base_class: str) -> None:
    """The script declares the fields and methods its prompt's features call for."""
    code = _generate(prompt, base_class=base_class).code
    for member in members:
        assert member in code


def test_combined_features_share_one_update() -> None:
    """Movement, jumping and shooting read input in one merged Update method."""
    code = _generate("a 3D player that walks, jumps and shoots").code
    assert code.count("void Update()") == 1
    assert 'Input.GetAxis("Horizontal")' in code and 'Input.GetAxis("Vertical")' in code
    assert 'Input.GetButtonDown("Jump")' in code and "IsGrounded()" in code
    assert "ForceMode.Impulse" in code and "GetComponent<Rigidbody>()" in code
    assert 'Input.GetButton("Fire1")' in code


def test_2d_jump_uses_rigidbody2d() -> None:
    """Without a 3D hint, jumping drives a required Rigidbody2D."""
    code = _generate("a platformer character that can jump").code
    assert "[RequireComponent(typeof(Rigidbody2D))]" in code
    assert "ForceMode2D.Impulse" in code


def test_camera_follows_in_late_update_without_input() -> None:
    """A follow camera eases towards its target in LateUpdate and ignores player input."""
    code = _generate("a smooth camera that follows the player").code
    assert "[SerializeField] private Transform target;" in code
    assert "void LateUpdate()" in code and "Vector3.Lerp" in code
    assert "Input." not in code and "moveSpeed" not in code


def test_spawner_uses_a_coroutine() -> None:
    """A spawner loops in a coroutine and imports System.Collections for IEnumerator."""
    code = _generate("a wave spawner").code
    assert "using System.Collections;" in code
    assert "StartCoroutine(SpawnLoop());" in code
    assert "private IEnumerator SpawnLoop()" in code and "new WaitForSeconds(spawnInterval)" in code


def test_scripts_without_coroutines_import_only_unity_engine() -> None:
    """Scripts that run no coroutine import UnityEngine alone."""
    code = _generate("a windmill blade that rotates slowly").code
    assert code.startswith("using UnityEngine;\n\n")
    assert "System" not in code


def test_collectible_checks_the_player_tag_on_trigger() -> None:
    """A collectible reacts to the player entering its 2D trigger."""
    code = _generate("a gold coin pickup that adds to the score").code
    assert "private void OnTriggerEnter2D(Collider2D other)" in code
    assert 'other.CompareTag("Player")' in code


def test_a_floating_object_bobs() -> None:
    """A prompt asking for something that floats gets a gentle bob."""
    code = _generate("a floating cloud").code
    assert "void Start()" in code and "void Update()" in code
    assert "Mathf.Sin" in code and "Debug.Log" not in code


@pytest.mark.parametrize("prompt", list(PROMPTS))
def test_scriptable_object_has_no_unity_messages(prompt: str) -> None:
    """Non-behaviour base classes get fields and plain methods only."""
    code = _generate(prompt, base_class="ScriptableObject").code
    assert re.search(r"void (Awake|Start|Update|LateUpdate|OnTrigger\w*)\(", code) is None
    assert "transform" not in code and "IEnumerator" not in code
    assert "[CreateAssetMenu(" in code


def test_comments_add_a_summary_and_tooltips() -> None:
    """With comments on, an XML summary quotes the prompt and fields carry tooltips."""
    code = _generate("a turret gun that fires bullets").code
    assert '/// Generated for the prompt "a turret gun that fires bullets".' in code
    assert code.count("/// <summary>") == 1
    assert '[Tooltip("Shots per second.")]' in code


def test_without_comments_there_are_no_comments() -> None:
    """With comments off, the script has no comments and no tooltips."""
    code = _generate("a turret gun that fires bullets", include_comments=False).code
    assert "//" not in code and "/*" not in code and "Tooltip" not in code


def test_summary_sanitises_the_prompt() -> None:
    """The quoted prompt is one line, XML-escaped, free of comment terminators and capped."""
    prompt = "spin */ the <coin>\nnow & forever\u2028" + " and then" * 40
    code = _generate(prompt).code
    assert check_syntax(code) == ()
    (line,) = [ln for ln in code.splitlines() if ln.startswith('/// Generated for the prompt "')]
    quoted = line.removeprefix('/// Generated for the prompt "').removesuffix('".')
    assert len(quoted) <= 120 and quoted.endswith("...")
    assert "*/" not in quoted and "<coin>" not in quoted and "&lt;coin&gt;" in quoted


def test_same_request_gives_identical_code() -> None:
    """Generation is deterministic, whatever the reasoning setting."""
    request = ScriptRequest(prompt="a player that jumps", class_name="Hero", namespace="Game")
    creative = ScriptRequest(
        prompt="a player that jumps", class_name="Hero", namespace="Game", reasoning="creative"
    )
    generator = OfflineGenerator()
    first = generator.generate(request, _ignore)
    assert generator.generate(request, _ignore) == first
    assert OfflineGenerator().generate(creative, _ignore).code == first.code


def test_generation_reports_provider_model_and_token_estimates() -> None:
    """The generation names the offline provider and estimates tokens from word counts."""
    generator: ScriptGenerator = OfflineGenerator()
    request = ScriptRequest(prompt="a wave spawner", class_name="Waves")
    generation = generator.generate(request, _ignore)
    assert (generation.provider, generation.model) == ("offline", "spark-offline-1")
    assert generation.tokens.prompt == 3 + 20
    assert generation.tokens.completion == len(generation.code.split())


@pytest.mark.parametrize("latency_s", [0.0, 0.05])
def test_progress_is_non_decreasing_and_ends_at_one(latency_s: float) -> None:
    """Progress starts at 0.0, never goes back, and ends at 1.0 naming the file."""
    calls: list[tuple[float, str]] = []
    request = ScriptRequest(prompt="a wave spawner", class_name="Waves")
    OfflineGenerator(latency_s).generate(request, lambda f, m: calls.append((f, m)))
    fractions = [fraction for fraction, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert len(calls) >= 10
    assert {message for _, message in calls} == {"writing Waves.cs"}


def test_raising_progress_callback_stops_generation() -> None:
    """An exception raised by on_progress propagates and no more progress is reported."""
    calls: list[float] = []

    def cancel_after_three(fraction: float, message: str) -> None:
        calls.append(fraction)
        if len(calls) == 3:
            raise RuntimeError("cancelled")

    request = ScriptRequest(prompt="a wave spawner", class_name="Waves")
    with pytest.raises(RuntimeError, match="cancelled"):
        OfflineGenerator(latency_s=0.05).generate(request, cancel_after_three)
    assert len(calls) == 3


def test_latency_paces_the_generation() -> None:
    """A generator with latency_s=0.2 takes about that long."""
    request = ScriptRequest(prompt="a wave spawner", class_name="Waves")
    started = time.monotonic()
    OfflineGenerator(latency_s=0.2).generate(request, _ignore)
    assert time.monotonic() - started >= 0.15


TWENTY_PROMPTS = [
    "a player controller that runs and jumps",
    "an enemy that patrols and takes damage",
    "a coin that spins and can be collected",
    "a camera that follows the player smoothly",
    "a turret that rotates and fires bullets",
    "a spawner that spawns enemies in waves",
    "a health pickup that heals the player",
    "a door that opens when the player is near",
    "a moving platform that goes up and down",
    "a checkpoint that saves progress",
    "a projectile that flies forward and hits things",
    "a boss with three attack phases",
    "a score counter shown on screen",
    "a day and night cycle for the sky light",
    "a spinning blade trap that damages the player",
    "a character that walks, runs and dies",
    "a collectible gem worth ten points",
    "a top down tank that moves and shoots",
    "an idle floating crystal",
    "a jumping slime enemy that follows the player",
]


@pytest.mark.parametrize("prompt", TWENTY_PROMPTS)
def test_twenty_varied_prompts_give_scripts_that_parse_and_declare_the_class(prompt: str) -> None:
    """Each prompt yields C# with no error nodes declaring the requested class and base."""
    from spark.contracts.params import GenerateScriptParams
    from spark.engines.unity.scripts import generate_script

    params = GenerateScriptParams(prompt=prompt, namespace="Studio.Game")
    result = generate_script(params, lambda _p, _m: None, OfflineGenerator())
    assert check_syntax(result["code"]) == ()
    assert f"class {result['class_name']} : MonoBehaviour" in result["code"]
