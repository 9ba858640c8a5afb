"""The NUnit 3 results reader: Unity's shape, its failures' sources, and hostile files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from spark.engines.unity import nunit

FIXTURE = Path(__file__).parent / "fixtures" / "nunit-reference.xml"


def test_the_reference_example_gives_its_counts_and_its_failure_at_file_and_line() -> None:
    run = nunit.read_results(FIXTURE)
    assert run.counts == {"total": 3, "passed": 1, "failed": 1, "skipped": 1, "inconclusive": 0}
    assert (run.outcome, run.duration_s, run.testcasecount) == ("failed", 0.84, 3)
    (failure,) = run.failures
    assert failure.fullname == "Shop.Cart.Discount"
    assert failure.message == "Expected: 90\n  But was:  100"
    assert (failure.file, failure.line) == ("Assets/Tests/Cart.cs", 31)
    assert "Shop.Cart.Discount ()" in failure.stack


@pytest.mark.parametrize(
    ("stack", "source"),
    [
        (
            "at A.B () [0x0] in <5f2d1a>:0\nat A.C () [0x1] in Assets/T/C.cs:12",
            ("Assets/T/C.cs", 12),
        ),
        ("UnityEngine.Debug:Log (object) (at Assets/Tests/X.cs:31)", ("Assets/Tests/X.cs", 31)),
        ("at A.B () [0x0] in <5f2d1a>:0", (None, None)),
        ("", (None, None)),
    ],
)
def test_the_first_frame_with_a_line_names_the_source(
    stack: str, source: tuple[str | None, int | None]
) -> None:
    assert nunit.source_of(stack) == source


def test_an_entity_expansion_is_refused_before_it_expands() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<test-run total="1"><test-case fullname="&b;" result="Failed"/></test-run>'
    )
    with pytest.raises(nunit.ResultsInvalid, match="refused"):
        nunit.parse_results(io.BytesIO(bomb))


def test_a_file_over_the_cap_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    big.write_bytes(FIXTURE.read_bytes() + b" " * 2048)
    with pytest.raises(nunit.ResultsInvalid, match="over the 1024-byte cap"):
        nunit.read_results(big, max_bytes=1024)


def test_a_missing_truncated_or_foreign_file_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(nunit.ResultsInvalid, match="no results file"):
        nunit.read_results(tmp_path / "absent.xml")
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes(FIXTURE.read_bytes()[:700])
    with pytest.raises(nunit.ResultsInvalid, match="not well-formed"):
        nunit.read_results(truncated)
    with pytest.raises(nunit.ResultsInvalid, match="not <test-run>"):
        nunit.parse_results(io.BytesIO(b"<html><body/></html>"))
