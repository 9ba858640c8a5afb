"""The Unity stand-in's script compilation: a C# script under Assets/ holding MARKER fails
the compile with Unity's `error CS1029` line for that file, line and column.

A compile-only run (`-quit` without -executeMethod, -runTests or the stand-in's -customBuild*
arguments) then exits 1, as Unity in batch mode does; a build fails as the stand-in's
compile_error mode fails it (exit 101); a test run exits 3, as the test runner reports
compile errors.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

#: a C# script whose text holds this (e.g. in a `// FAKE_UNITY_COMPILE_ERROR` comment) does
#: not compile
MARKER = "FAKE_UNITY_COMPILE_ERROR"
WARNING = (
    "Assets/Scripts/Enemy.cs(30,17): warning CS0414: "
    "The field 'Enemy.unused' is assigned but its value is never used"
)
_BUILD_FAILED = "Error building Player because scripts had compiler errors"

Log = Callable[..., None]


def marked_errors(project: Path) -> list[str]:
    """One Unity compiler error line per line of a script under Assets/ holding MARKER."""
    errors = []
    for path in sorted((project / "Assets").rglob("*.cs")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            column = line.find(MARKER)
            if column >= 0:
                where = f"{path.relative_to(project).as_posix()}({number},{column + 1})"
                errors.append(f"{where}: error CS1029: #error: '{MARKER}'")
    return errors


def compile_step(
    args: dict[str, str], project: Path, log: Log, compiled: tuple[str, ...]
) -> int | None:
    """The exit code when compilation ends the run (errors, or a compile-only run in success
    mode; shutdown lines are the caller's), else None: the run goes on."""
    errors = marked_errors(project)
    if errors:
        log(*errors, "Scripts have compiler errors.")
        if _builds(args):
            log(_BUILD_FAILED, "Build Finished, Result: Failed.")
            return 101
        return 3 if "runtests" in args else 1
    if _builds(args) or "runtests" in args:
        return None
    log(WARNING, *compiled)
    return 0


def _builds(args: dict[str, str]) -> bool:
    """Whether the run builds a player (SPARK's build method, or its arguments alone)."""
    return bool({"executemethod", "custombuildtarget", "custombuildpath"} & set(args))
