"""Which bytes a download's `Range` header asks for (RFC 9110 §14), one range at most."""

from __future__ import annotations

import pytest

from spark.errors import RangeNotSatisfiable
from spark.web.routes.artifacts import ByteRange, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", ByteRange(0, 100, 1000)),
        ("bytes=990-5000", ByteRange(990, 1000, 1000)),
        ("bytes=500-", ByteRange(500, 1000, 1000)),
        ("bytes=-100", ByteRange(900, 1000, 1000)),
        ("bytes=-5000", ByteRange(0, 1000, 1000)),
    ],
)
def test_one_range_is_the_bytes_it_names_within_the_file(header: str, expected: ByteRange) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize(
    "header", [None, "", "bytes=0-1,5-9", "items=0-9", "bytes=-", "bytes=9-3", "bytes=a-b"]
)
def test_no_range_several_or_a_malformed_one_send_the_whole_file(header: str | None) -> None:
    assert parse_range(header, 1000) is None


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=1000-", 1000), ("bytes=-0", 1000), ("bytes=0-", 0)]
)
def test_a_range_outside_the_file_is_416_naming_its_length(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as refused:
        parse_range(header, size)
    assert refused.value.status == 416
    assert refused.value.headers["Content-Range"] == f"bytes */{size}"


def test_content_range_names_the_last_byte_inclusive() -> None:
    assert ByteRange(100, 200, 1000).content_range == "bytes 100-199/1000"
