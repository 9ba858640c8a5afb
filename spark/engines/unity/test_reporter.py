"""SPARK's editor callback for test runs: it prints a line per finished test, read here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: where the callback goes in the project, beside SPARK's build method
PROJECT_PATH = "Assets/Editor/Spark/SparkTestReporter.cs"
REPORTER_CS: str = (Path(__file__).parent / "editor" / "SparkTestReporter.cs").read_text(
    encoding="utf-8"
)
# `[SparkTests] finished Shop.Cart.Adds Passed (1/3)`; a full name may hold spaces (cases).
_FINISHED = re.compile(
    r"\[SparkTests\] finished (?P<name>.+) (?P<status>Passed|Failed|Skipped|Inconclusive)"
    r" \((?P<done>\d+)/(?P<total>\d+)\)\s*$"
)


@dataclass(frozen=True)
class FinishedTest:
    """One test the callback reported finished, and how far the run is."""

    fullname: str
    status: str
    done: int
    total: int

    @property
    def percent(self) -> int:
        """done ÷ testcasecount, as a whole percent."""
        return min(100, self.done * 100 // self.total) if self.total else 0


def finished_test(line: str) -> FinishedTest | None:
    """The finished test a log line reports, or None."""
    match = _FINISHED.search(line)
    if match is None:
        return None
    return FinishedTest(match["name"], match["status"], int(match["done"]), int(match["total"]))


def install(workspace: Path) -> None:
    """Write the callback into the workspace, over any project file at its path."""
    script = workspace / PROJECT_PATH
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(REPORTER_CS, encoding="utf-8")
