"""Following Unity's batch-mode log line by line: stored, progress tracked, compiler and
build messages collected without Unity's repeats, the stated result kept."""

from __future__ import annotations

from typing import Any

from spark.domain.targets import BuildTarget
from spark.engines.unity.build_log import (
    BuildMessage,
    BuildResult,
    ProgressTracker,
    missing_module,
    parse_line,
    result_from_log,
)
from spark.storage.logs import LogWriter

#: how many errors and how many warnings a result lists; the totals count them all
MAX_MESSAGES = 100
#: distinct messages remembered to drop Unity's repeats; past this, repeats count again
_MAX_SEEN = 10_000


class LogFollower:
    """Follows Unity's log line by line: stores it, tracks progress, errors and the result."""

    def __init__(self, log: LogWriter) -> None:
        self.log = log
        self.lines = 0
        self.progress: tuple[int, str] = (0, "Starting Unity")
        self.stated: BuildResult | None = None
        #: the target the log says the editor has no module for ('' when it names none)
        self.missing_module: str | None = None
        self.errors: list[BuildMessage] = []
        self.warnings: list[BuildMessage] = []
        #: "compiler": the errors with a compiler code (`error CS0103`), among all errors
        self.counts = {"error": 0, "warning": 0, "compiler": 0}
        self._tracker = ProgressTracker()
        self._seen: set[BuildMessage] = set()

    def feed(self, line: str) -> None:
        """Take one line of Unity's output."""
        self.log.write(line)
        self.lines += 1
        if (moved := self._tracker.feed(line)) is not None:
            self.progress = moved
        if (stated := result_from_log((line,))) is not None:
            self.stated = stated
        if (missing := missing_module(line)) is not None:
            self.missing_module = self.missing_module or missing
        message = parse_line(line)
        # Unity prints each compiler message again when it reports the failed compile.
        if message is None or message in self._seen:
            return
        if len(self._seen) < _MAX_SEEN:
            self._seen.add(message)
        self.counts[message.severity] += 1
        if message.severity == "error" and message.code:
            self.counts["compiler"] += 1
        kept = self.errors if message.severity == "error" else self.warnings
        if len(kept) < MAX_MESSAGES:
            kept.append(message)

    def result(
        self,
        outcome: BuildResult,
        exit_code: int | None,
        duration_s: float,
        target: BuildTarget,
        revision: str | None,
        files: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The job result (CONTRACT §5) for the log so far, without artifacts; files are the
        SPARK file versions the workspace held."""
        return {
            "result": outcome,
            "exit_code": exit_code,
            "duration_s": round(duration_s, 3),
            "target": target.value,
            "revision": revision,
            "errors": [message_dict(message) for message in self.errors],
            "warnings": [message_dict(message) for message in self.warnings],
            "error_count": self.counts["error"],
            "warning_count": self.counts["warning"],
            "log_lines": self.lines,
            "files": files or [],
            "artifacts": [],
        }


def message_dict(message: BuildMessage) -> dict[str, Any]:
    """The JSON view of one error or warning."""
    return {
        "file": message.file,
        "line": message.line,
        "column": message.column,
        "code": message.code,
        "message": message.message,
    }
