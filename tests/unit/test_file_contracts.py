"""The history document and the file routes' header rules, without a database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from spark.contracts.files import HistoryDocument, encode_content, export_chunks
from spark.domain.files import Author, FileVersion, StoredFile, sha256_of
from spark.errors import ValidationFailed
from spark.web.cursors import (
    after_path,
    before_version,
    decode_after_path,
    decode_before_version,
)
from spark.web.routes.files import not_modified, wants_bytes

PROJECT = uuid.uuid4()
AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def stored(path: str, version: int, content: bytes) -> StoredFile:
    author = Author("alice", "key-1", uuid.uuid4() if version % 2 else None)
    v = FileVersion(
        PROJECT, path, version, sha256_of(content), len(content), author, f"v{version}", AT
    )
    return StoredFile(v, content)


def test_an_export_of_nothing_is_a_valid_empty_document() -> None:
    document = json.loads(b"".join(export_chunks(PROJECT, AT, [])))
    assert HistoryDocument.model_validate(document).files == []
    assert document["project_id"] == str(PROJECT)


def test_an_export_reads_back_as_exactly_the_versions_it_was_made_of() -> None:
    """Several paths, several versions each, text and binary: the chunks join into one
    document that parses back to the same versions and bytes."""
    history = [
        stored("Assets/A.cs", 1, b"one\r\n"),
        stored("Assets/A.cs", 2, "två\n".encode()),
        stored("Assets/B.png", 1, b"\x00\xff"),
        stored("Assets/C.cs", 1, b""),
        stored("Assets/C.cs", 2, b"x"),
        stored("Assets/C.cs", 3, b""),
    ]
    document = json.loads(b"".join(export_chunks(PROJECT, AT, history)))
    assert [f["path"] for f in document["files"]] == ["Assets/A.cs", "Assets/B.png", "Assets/C.cs"]
    assert HistoryDocument.model_validate(document).stored(PROJECT) == history


def test_content_is_text_only_for_utf8_without_nul() -> None:
    assert encode_content("é\r\n".encode()) == ("é\r\n", None)
    assert encode_content(b"a\x00b") == (None, "YQBi")
    assert encode_content(b"\xff") == (None, "/w==")


@pytest.mark.parametrize(
    ("accept", "raw"),
    [
        ("application/octet-stream", True),
        ("application/json, application/octet-stream", False),
        ("application/octet-stream;q=0.9, application/json", True),
        ("*/*", False),
        ("", False),
    ],
)
def test_raw_bytes_are_served_when_accept_names_them_before_json(accept: str, raw: bool) -> None:
    assert wants_bytes(accept) is raw


def test_if_none_match_matches_the_quoted_sha_weak_or_strong_or_a_star() -> None:
    sha = "a" * 64
    assert not_modified(f'"{sha}"', sha)
    assert not_modified(f'"{"b" * 64}", W/"{sha}"', sha)
    assert not_modified("*", sha)
    assert not not_modified(sha, sha)  # an ETag is quoted; a bare hash is not one
    assert not not_modified(None, sha)


def test_cursors_round_trip_and_refuse_lookalikes() -> None:
    assert decode_after_path(after_path("Assets/Ünïcode/ä.cs")) == "Assets/Ünïcode/ä.cs"
    assert decode_before_version(before_version(7)) == 7
    for cursor in (after_path("Assets/../x.cs"), after_path("Assets/a.cs")[:-2], "W10"):
        with pytest.raises(ValidationFailed):
            decode_after_path(cursor)
    for cursor in (before_version(1), before_version(True), after_path("Assets/a.cs")):
        with pytest.raises(ValidationFailed):
            decode_before_version(cursor)
