"""NUnit 3 results, as Unity's Test Framework writes them, read into SPARK's test result.

The file comes from a project's own code running in Unity, so it is read as hostile: a size
cap before any parsing, DTDs (and with them entity expansion and external references)
refused by defusedxml, and test cases dropped from memory as soon as they are counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

#: a results file past this size is refused unread (a large project's run is a few MB)
MAX_RESULTS_BYTES = 32 * 1024 * 1024
#: how many failures a result lists; `failed` counts them all
MAX_FAILURES = 100
#: the longest message or stack trace kept per failure
MAX_TEXT = 8_000
_COUNTS = ("total", "passed", "failed", "skipped", "inconclusive")
# `at Shop.Cart.Discount () [0x00010] in Assets/Tests/Cart.cs:31` or `(at Assets/X.cs:31)`;
# the path holds no `:`, and frames at line 0 (`<hash>:0`) name no source.
_FRAME = re.compile(r"(?:\bin |\(at )(?P<file>[^:\s()][^:()]*?):(?P<line>\d+)\)?\s*$", re.M)


class ResultsInvalid(Exception):
    """The results file is missing, too large, truncated or not NUnit 3 XML."""


@dataclass(frozen=True)
class FailedCase:
    """One failed test case and where its stack trace says it failed."""

    fullname: str
    message: str
    stack: str
    file: str | None = None
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON view of the failure (CONTRACT §5)."""
        return {
            "fullname": self.fullname,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "stack": self.stack,
        }


@dataclass(frozen=True)
class NUnitRun:
    """What a `<test-run>` says: its counts, its duration and its failures."""

    counts: dict[str, int]
    duration_s: float
    testcasecount: int
    failures: tuple[FailedCase, ...] = field(default=())

    @property
    def outcome(self) -> str:
        """passed, or failed when any test failed."""
        return "failed" if self.counts["failed"] else "passed"


def read_results(path: Path, max_bytes: int = MAX_RESULTS_BYTES) -> NUnitRun:
    """The test run written at path; ResultsInvalid when it cannot be trusted."""
    try:
        size = path.stat().st_size
    except OSError:
        raise ResultsInvalid(f"Unity wrote no results file at {path.name}") from None
    if size > max_bytes:
        raise ResultsInvalid(f"the results file is {size} bytes, over the {max_bytes}-byte cap")
    with path.open("rb") as stream:
        return parse_results(stream)


def parse_results(stream: IO[bytes]) -> NUnitRun:
    """The test run in an NUnit 3 XML stream; ResultsInvalid for anything else."""
    try:
        return _parse(stream)
    except DefusedXmlException as refused:
        raise ResultsInvalid(f"the results file was refused: {type(refused).__name__}") from None
    except ParseError as broken:
        raise ResultsInvalid(f"the results file is not well-formed XML: {broken}") from None


def _parse(stream: IO[bytes]) -> NUnitRun:
    """Walk the XML once, keeping the run's attributes and the failed cases only."""
    run: Element | None = None
    failures: list[FailedCase] = []
    for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=True):
        if event == "start":
            if run is None:
                if element.tag != "test-run":
                    raise ResultsInvalid(f"the results file holds <{element.tag}>, not <test-run>")
                run = element
            continue
        failed = element.tag == "test-case" and element.get("result") == "Failed"
        if failed and len(failures) < MAX_FAILURES:
            failures.append(_failure(element))
        if element.tag in ("test-case", "test-suite"):
            # Read: its text, output and children are no longer needed.
            element.clear()
    if run is None:
        raise ResultsInvalid("the results file is empty")
    return NUnitRun(
        counts={name: _int(run, name) for name in _COUNTS},
        duration_s=_float(run.get("duration")),
        testcasecount=_int(run, "testcasecount"),
        failures=tuple(failures),
    )


def _failure(case: Element) -> FailedCase:
    """The failure recorded in a failed `<test-case>`."""
    message = (case.findtext("failure/message") or "").strip()
    stack = (case.findtext("failure/stack-trace") or "").strip()
    file, line = source_of(stack)
    fullname = case.get("fullname") or case.get("name") or "?"
    return FailedCase(fullname, message[:MAX_TEXT], stack[:MAX_TEXT], file, line)


def source_of(stack: str) -> tuple[str | None, int | None]:
    """The file and line of the first stack frame that names one (line above 0)."""
    for match in _FRAME.finditer(stack):
        line = int(match["line"])
        if line > 0:
            return match["file"].strip(), line
    return None, None


def _int(element: Element, name: str) -> int:
    """A count attribute; ResultsInvalid when it is not a whole number."""
    value = element.get(name, "0")
    try:
        return max(0, int(value))
    except ValueError:
        raise ResultsInvalid(f"<test-run {name}={value!r}> is not a count") from None


def _float(value: str | None) -> float:
    """A duration in seconds, 0 when absent or unreadable."""
    try:
        return round(float(value or 0), 3)
    except ValueError:
        return 0.0
