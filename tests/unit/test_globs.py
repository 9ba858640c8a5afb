"""Path patterns: `*` stays in one folder, `**` spans folders (none included), case counts."""

from __future__ import annotations

import time

import pytest

from spark.domain.globs import is_glob, literal_prefix, matches


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("Assets/Scripts/**/*.cs", "Assets/Scripts/Player.cs", True),
        ("Assets/Scripts/**/*.cs", "Assets/Scripts/AI/Enemy/Brain.cs", True),
        ("Assets/Scripts/**/*.cs", "Assets/Scripts/Player.cs.meta", False),
        ("Assets/Scripts/**/*.cs", "Assets/Art/Player.cs", False),
        ("Assets/*.cs", "Assets/Scripts/Player.cs", False),
        ("Assets/*.cs", "Assets/Player.cs", True),
        ("Assets/**", "Assets/a/b/c.prefab", True),
        ("Assets/Materials/?ava.mat", "Assets/Materials/Lava.mat", True),
        ("Assets/Materials/[LM]*.mat", "Assets/Materials/Moss.mat", True),
        ("Assets/Materials/[!LM]*.mat", "Assets/Materials/Moss.mat", False),
        ("Assets/scripts/*.cs", "Assets/Scripts/Player.cs", False),
        ("Assets/Scripts/Player.cs", "Assets/Scripts/Player.cs", True),
        ("Assets/**/**/*.cs", "Assets/A.cs", True),
    ],
)
def test_a_glob_names_paths_segment_by_segment(pattern: str, path: str, expected: bool) -> None:
    assert matches(pattern, path) is expected


def test_many_double_stars_stay_fast_on_a_deep_path() -> None:
    """Remembered sub-answers keep a hostile pattern from taking exponential time."""
    pattern = "/".join(["Assets", *(["**", "a"] * 60), "b"])
    path = "/".join(["Assets", *(["a"] * 200)])
    started = time.monotonic()
    assert not matches(pattern, path)
    assert time.monotonic() - started < 1.0


def test_exact_paths_are_no_globs_and_a_glob_lists_only_below_its_fixed_folders() -> None:
    assert not is_glob("Assets/Scripts/Player.cs")
    assert is_glob("Assets/Scripts/*.cs") and is_glob("Assets/[AB].cs")
    assert literal_prefix("Assets/Scripts/**/*.cs") == "Assets/Scripts/"
    assert literal_prefix("Assets/*/Player.cs") == "Assets/"
    assert literal_prefix("Assets/Scripts/*.cs") == "Assets/Scripts/"
