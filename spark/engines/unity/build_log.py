"""Parsing Unity batch-mode build logs: compiler messages, build progress and the result."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]
BuildResult = Literal["succeeded", "failed", "canceled"]

# `Assets/Scripts/Player.cs(12,5): error CS0103: The name 'foo' does not exist ...`
_COMPILER = re.compile(
    r"^(?P<file>[^()]+?)\((?P<line>\d+),(?P<column>\d+)\):\s*"
    r"(?P<severity>error|warning)\s+(?P<code>[A-Z]{2,}\d+)\s*:\s*(?P<message>.*)$"
)
# Compiler messages without a location, e.g. `error CS5001: Program does not contain ...`.
_COMPILER_NO_FILE = re.compile(
    r"^(?P<severity>error|warning)\s+(?P<code>[A-Z]{2,}\d+)\s*:\s*(?P<message>.*)$"
)
# GameCI's CompileListener turns Unity log messages into GitHub annotations.
_ANNOTATION = re.compile(r"^::(?P<severity>error|warning)(?:\s[^:]*)?::(?P<message>.*)$")
# Lines Unity (or a build method) prints when the build as a whole fails.
_FAILURE_LINES = (
    re.compile(r"^Build Finished, Result: Fail(?:ed|ure)\.?$"),
    re.compile(r"^Build completed with a result of 'Failed'"),
    re.compile(r"Error building Player", re.IGNORECASE),
    re.compile(r"^Scripts have compiler errors\.?$"),
    re.compile(r"^Aborting batchmode due to failure:?$"),
    re.compile(r"^executeMethod (?:method|class) .* (?:threw exception|could not be found)"),
    re.compile(r"^Build failed!?$"),
    re.compile(r"^Couldn't set project path to:"),
)
# Unity prints some progress lines through the batch-mode progress-bar stand-in.
_PROGRESS_PREFIX = re.compile(r"^Display(?:Progressbar|ProgressNotification):\s*")

# SparkBuilder names a target whose platform module the editor lacks; Unity's own line says
# only that the target was unsupported.
_NOT_INSTALLED = re.compile(r"^\[SparkBuilder\] Build target (?P<target>\S+) is not installed\b")
_UNSUPPORTED = re.compile(r"^Error building player because build target was unsupported", re.I)

_RESULT_LINES: tuple[tuple[re.Pattern[str], BuildResult], ...] = (
    (re.compile(r"Build Finished, Result: Success\.?"), "succeeded"),
    (re.compile(r"Build Finished, Result: Fail(?:ed|ure)\.?"), "failed"),
    (re.compile(r"Build Finished, Result: Cancel(?:l)?ed\.?"), "canceled"),
    (re.compile(r"Build completed with a result of 'Succeeded'"), "succeeded"),
    (re.compile(r"Build completed with a result of 'Failed'"), "failed"),
    (re.compile(r"Build completed with a result of 'Cancel(?:l)?ed'"), "canceled"),
    (re.compile(r"^Build succeeded!?$"), "succeeded"),
    (re.compile(r"^Build failed!?$"), "failed"),
    (re.compile(r"^Build cancel(?:l)?ed!?$"), "canceled"),
    (re.compile(r"^Result: Succeeded$"), "succeeded"),
    (re.compile(r"^Result: Failed$"), "failed"),
    (re.compile(r"^Result: Cancel(?:l)?ed$"), "canceled"),
)


@dataclass(frozen=True)
class BuildMessage:
    """An error or warning found in a Unity log, with its source location when known."""

    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    code: str | None = None


def parse_line(line: str) -> BuildMessage | None:
    """The compiler or build error or warning on one log line, or None for any other line."""
    text = line.strip()
    if not text:
        return None
    match = _COMPILER.match(text)
    if match:
        return BuildMessage(
            severity=_severity(match["severity"]),
            message=match["message"].strip(),
            file=match["file"].strip(),
            line=int(match["line"]),
            column=int(match["column"]),
            code=match["code"],
        )
    match = _COMPILER_NO_FILE.match(text)
    if match:
        return BuildMessage(
            _severity(match["severity"]), match["message"].strip(), code=match["code"]
        )
    match = _ANNOTATION.match(text)
    if match:
        return parse_line(match["message"]) or BuildMessage(
            _severity(match["severity"]), match["message"].strip()
        )
    if any(pattern.search(text) for pattern in _FAILURE_LINES):
        return BuildMessage("error", text)
    return None


def missing_module(line: str) -> str | None:
    """The target a line says the editor has no module for: its name, '' when the line does
    not name it (Unity's own line), None for any other line."""
    text = line.strip()
    if match := _NOT_INSTALLED.match(text):
        return match["target"]
    return "" if _UNSUPPORTED.match(text) else None


def _severity(word: str) -> Severity:
    """The typed severity for the word a regex matched."""
    return "warning" if word == "warning" else "error"


def is_compact(line: str) -> bool:
    """Whether a log line belongs in the compact log, which keeps only errors and warnings."""
    return parse_line(line) is not None


def collect_messages(lines: Iterable[str]) -> list[BuildMessage]:
    """Every distinct error and warning in a log, in first-seen order."""
    # Unity repeats each compiler message when it reports the failed compilation again.
    seen: dict[BuildMessage, None] = {}
    for line in lines:
        message = parse_line(line)
        if message is not None:
            seen.setdefault(message, None)
    return list(seen)


def result_from_log(lines: Iterable[str]) -> BuildResult | None:
    """The build result the log states last, or None when it states none."""
    result: BuildResult | None = None
    for line in lines:
        text = line.strip()
        for pattern, value in _RESULT_LINES:
            if pattern.search(text):
                result = value
                break
    return result


_BLOCK_COUNT = re.compile(r"^(?P<name>Errors|Warnings|Size):\s*(?P<value>\d+)(?:\s*bytes)?$")


@dataclass(frozen=True)
class ResultsBlock:
    """The totals a build method's results block reports; None for a total it does not print."""

    errors: int | None = None
    warnings: int | None = None
    size_bytes: int | None = None


def results_block(lines: Iterable[str]) -> ResultsBlock | None:
    """The totals from the last `# Build results #` block in a log, or None without one."""
    totals: dict[str, int] | None = None
    for line in lines:
        text = line.strip()
        if text.startswith("#") and "Build results" in text:
            totals = {}
        elif totals is not None and (match := _BLOCK_COUNT.match(text)):
            totals[match["name"]] = int(match["value"])
    if totals is None:
        return None
    return ResultsBlock(totals.get("Errors"), totals.get("Warnings"), totals.get("Size"))


@dataclass(frozen=True)
class _Phase:
    """A kind of log line that moves progress into [low, high], one step per repeat."""

    pattern: re.Pattern[str]
    low: int
    high: int
    message: str
    step: int = 0


def _starts(*prefixes: str) -> re.Pattern[str]:
    """A pattern matching lines that start with any of the given regex prefixes."""
    return re.compile("|".join(f"^(?:{prefix})" for prefix in prefixes))


# Ordered as the phases appear in a build; a line takes the first phase it matches.
_PHASES = (
    _Phase(
        _starts(r"Build Finished, Result: Success", r"Build succeeded!?$"),
        100,
        100,
        "Build succeeded",
    ),
    _Phase(
        _starts("Initialize engine version", r"\[Licensing::", "Loading project"),
        5,
        5,
        "Loading project",
    ),
    _Phase(
        _starts(
            "Loading GUID <-> Path mappings",
            "Refreshing native plugins",
            "Start importing",
            "Asset Pipeline Refresh",
        ),
        8,
        15,
        "Refreshing assets",
        2,
    ),
    _Phase(
        _starts("- Starting script compilation", "Starting: .*bee_backend", "Compiling scripts"),
        20,
        20,
        "Compiling scripts",
    ),
    _Phase(
        _starts(
            "- Finished script compilation",
            "Begin MonoManager ReloadAssembly",
            "- Completed reload",
            "Reloading assemblies",
        ),
        30,
        35,
        "Scripts compiled",
        5,
    ),
    _Phase(
        _starts(
            "Building Player",
            "Build Player",
            r"\[SparkBuilder\] Building",
            "Start building",
            "Switching to .* build target",
        ),
        40,
        40,
        "Build started",
    ),
    _Phase(_starts("Building scene", "Building level"), 45, 65, "Building scenes", 4),
    _Phase(_starts("Compiling shader", "Shader compilation"), 55, 75, "Compiling shaders", 2),
    _Phase(
        _starts("Packaging assets", "Creating bundle", "Writing asset files"),
        78,
        85,
        "Packaging assets",
        1,
    ),
    _Phase(
        _starts("Compressing", "Linking build", "Building WebGL", "Creating WebGL"),
        86,
        92,
        "Compressing",
        2,
    ),
)


class ProgressTracker:
    """Turns log lines into build progress that only ever increases, from 0 to 100."""

    def __init__(self) -> None:
        """A tracker at 0 percent that has seen no phase yet."""
        self.percent = 0
        self._repeats: dict[int, int] = {}

    def feed(self, line: str) -> tuple[int, str] | None:
        """The new (percent, message) when the line moves the build forward, else None."""
        text = _PROGRESS_PREFIX.sub("", line.strip())
        for index, phase in enumerate(_PHASES):
            if phase.pattern.search(text):
                repeats = self._repeats.get(index, 0)
                self._repeats[index] = repeats + 1
                percent = min(phase.high, phase.low + repeats * phase.step)
                if percent <= self.percent:
                    return None
                self.percent = percent
                return percent, phase.message
        return None
