"""The preview cache key: any write to the project's files, or any other request field,
makes a new key; an entry round-trips through its encoding."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from spark.domain.files import FileHead, sha256_of
from spark.kv.preview_cache import (
    CachedPreview,
    PreviewRequest,
    files_digest,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PROJECT = uuid.uuid4()


def head(path: str, content: bytes, version: int = 1) -> FileHead:
    return FileHead(path, version, sha256_of(content), len(content), NOW)


HEADS = [head("Assets/Scenes/Main.unity", b"scene"), head("Assets/Scripts/P.cs", b"class P {}")]


def request(heads: list[FileHead] = HEADS) -> PreviewRequest:
    return PreviewRequest(
        editor_url="http://editor:8080/mcp",
        project_id=PROJECT,
        files=files_digest(heads),
        scene="Assets/Scenes/Main.unity",
        camera=None,
        width=1920,
        height=1080,
        format="png",
    )


def test_the_key_is_stable_for_the_same_files_in_any_order() -> None:
    assert request().key() == request(list(reversed(HEADS))).key()


def test_a_write_to_any_file_changes_the_key() -> None:
    edited = [HEADS[0], head("Assets/Scripts/P.cs", b"class P { int x; }", version=2)]
    added = [*HEADS, head("Assets/Art/new.mat", b"m")]
    removed = HEADS[:1]
    keys = {request(h).key() for h in (HEADS, edited, added, removed)}
    assert len(keys) == 4


def test_a_write_restoring_earlier_bytes_still_changes_the_key() -> None:
    """Version 3 with version 1's bytes (a rollback) is a new state of the project."""
    restored = [HEADS[0], head("Assets/Scripts/P.cs", b"class P {}", version=3)]
    assert request(restored).key() != request().key()


def test_every_request_field_is_part_of_the_key() -> None:
    base = request()
    variants = [
        replace(base, editor_url="http://other:8080/mcp"),
        replace(base, project_id=uuid.uuid4()),
        replace(base, scene="Assets/Scenes/Other.unity"),
        replace(base, camera="Main Camera"),
        replace(base, width=1080),
        replace(base, height=1920),
        replace(base, format="jpg"),
    ]
    assert len({v.key() for v in [base, *variants]}) == len(variants) + 1


def test_fields_cannot_run_into_each_other() -> None:
    """A scene and camera that concatenate to the same text still give different keys."""
    a = replace(request(), scene="Assets/a", camera="b")
    b = replace(request(), scene="Assets/ab", camera="")
    assert a.key() != b.key()


ENTRY = CachedPreview(uuid.uuid4(), "preview.png", "ab" * 32)


def test_an_entry_round_trips_through_its_encoding() -> None:
    assert CachedPreview.decode(ENTRY.encode()) == ENTRY
