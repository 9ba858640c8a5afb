"""C# syntax checks and class naming for Unity scripts."""

from __future__ import annotations

import re

import pytest

from spark.engines.unity.csharp import (
    MAX_DIAGNOSTICS,
    Diagnostic,
    check_syntax,
    class_name_from_prompt,
    parses_cleanly,
)

VALID_BEHAVIOUR = """\
using UnityEngine;

public class Spinner : MonoBehaviour
{
    [SerializeField] private float speed = 90f;

    private void Update()
    {
        transform.Rotate(0f, 0f, speed * Time.deltaTime);
    }
}
"""


def test_valid_monobehaviour_has_no_diagnostics() -> None:
    """A well-formed MonoBehaviour yields no diagnostics and parses cleanly."""
    assert check_syntax(VALID_BEHAVIOUR) == ()
    assert parses_cleanly(VALID_BEHAVIOUR)


def test_missing_semicolon_is_reported_on_its_line() -> None:
    """A statement without its semicolon is reported on that statement's 1-based line."""
    code = VALID_BEHAVIOUR.replace("Time.deltaTime);", "Time.deltaTime)")
    diagnostics = check_syntax(code)
    assert diagnostics
    assert diagnostics[0].line == 9
    assert diagnostics[0].column == 9
    assert diagnostics[0].severity == "error"
    assert not parses_cleanly(code)


def test_missing_closing_brace_is_reported() -> None:
    """A class whose final closing brace is missing does not parse cleanly."""
    code = VALID_BEHAVIOUR.rstrip().removesuffix("}")
    diagnostics = check_syntax(code)
    assert diagnostics
    assert all(isinstance(d, Diagnostic) and d.line >= 1 and d.column >= 1 for d in diagnostics)


def test_missing_token_is_named_in_the_message() -> None:
    """A token the parser had to invent is reported as missing, by name."""
    diagnostics = check_syntax("class A { void F() { F(; } }")
    assert Diagnostic(line=1, column=24, message="missing ')'") in diagnostics


def test_error_message_quotes_a_short_snippet() -> None:
    """A syntax error quotes a one-line excerpt of the offending code."""
    (diagnostic,) = check_syntax("class A {\n  void F() {\n    int x = 1\n  }\n}\n")
    assert diagnostic.message == "syntax error near 'int x = 1'"
    assert (diagnostic.line, diagnostic.column) == (3, 5)


def test_columns_count_characters_not_bytes() -> None:
    """Columns count characters, so non-ASCII text earlier on the line does not shift them."""
    diagnostics = check_syntax('class A { void F() { string s = "éé"; int x = 1 } }')
    assert [(d.line, d.column) for d in diagnostics] == [(1, 48)]


def test_diagnostics_are_capped() -> None:
    """Hopelessly broken code yields at most MAX_DIAGNOSTICS diagnostics."""
    code = "class A { " + "void F( { " * 300 + "} }"
    assert len(check_syntax(code)) == MAX_DIAGNOSTICS


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a player controller that jumps and double jumps", "PlayerControllerJumps"),
        ("Make a script for a spinning coin", "SpinningCoin"),
        ("enemy-spawner!!! with waves", "EnemySpawnerWaves"),
        ("an AI enemy that patrols", "AIEnemyPatrols"),
        ("3d camera follow", "Script3dCameraFollow"),
        ("fire", "FireBehaviour"),
        ("", "GeneratedBehaviour"),
        ("write the script, please!", "GeneratedBehaviour"),
    ],
)
def test_class_name_from_prompt_examples(prompt: str, expected: str) -> None:
    """Class names keep up to three meaningful prompt words in PascalCase."""
    assert class_name_from_prompt(prompt) == expected


@pytest.mark.parametrize("prompt", ["ñandú ☃ 🚀", "42", "_ _ _", "x" * 500, "a\nb\tc", "Update"])
def test_class_name_is_always_a_valid_identifier(prompt: str) -> None:
    """Whatever the prompt, the class name is a PascalCase C# identifier."""
    assert re.fullmatch(r"[A-Z][A-Za-z0-9_]*", class_name_from_prompt(prompt))
