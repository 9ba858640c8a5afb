"""The README's architecture tree names every module of spark/, and no module that is gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
#: a tree entry: a file or folder name, then (after two spaces) what it is for
ENTRY = re.compile(r"(?P<indent> *)(?P<name>[A-Za-z_][\w.]*(?:/|\.py))(?:  |$)")


def architecture_tree(text: str) -> str:
    """The first fenced block of the README's "## Architecture" section."""
    section = text.split("\n## Architecture\n", 1)[1]
    return section.split("```\n", 2)[1]


def tree_paths(tree: str) -> set[str]:
    """Every path the tree names, each entry's folders prefixed (two spaces a level).

    A line whose name is indented deeper than one level below the entry before it
    continues that entry's description, and names nothing.
    """
    folders: list[str] = []
    paths: set[str] = set()
    for line in tree.splitlines():
        match = ENTRY.match(line)
        if match is None or len(match["indent"]) % 2:
            continue
        level = len(match["indent"]) // 2
        if level > len(folders):
            continue
        del folders[level:]
        path = "".join(folders) + match["name"]
        paths.add(path)
        if path.endswith("/"):
            folders.append(match["name"])
    return paths


def spark_modules() -> set[str]:
    """Every module under spark/ as a path from the checkout (packages' __init__.py aside)."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "spark").rglob("*.py")
        if path.name != "__init__.py"
    }


def test_the_tree_reads_nested_entries_and_skips_description_lines() -> None:
    tree = (
        "spark/\n"
        "  kinds.py            the registry\n"
        "  engines/            game engines\n"
        "    unity/            Unity\n"
        "      builds.py       the build runner, whose description goes on\n"
        "                      over lines.py that name nothing/\n"
        "  web/                the API\n"
        "workers/              entry points\n"
    )
    assert tree_paths(tree) == {
        "spark/",
        "spark/kinds.py",
        "spark/engines/",
        "spark/engines/unity/",
        "spark/engines/unity/builds.py",
        "spark/web/",
        "workers/",
    }


def test_the_architecture_tree_names_every_module_of_spark() -> None:
    named = tree_paths(architecture_tree(README.read_text()))
    missing = sorted(spark_modules() - named)
    assert not missing, "README.md's architecture tree lacks:\n" + "\n".join(missing)


def test_the_architecture_tree_names_no_module_that_is_gone() -> None:
    named = {p for p in tree_paths(architecture_tree(README.read_text())) if p.endswith(".py")}
    gone = sorted(p for p in named if p.startswith("spark/") and not (ROOT / p).is_file())
    assert not gone, "README.md's architecture tree names modules that do not exist:\n" + (
        "\n".join(gone)
    )
