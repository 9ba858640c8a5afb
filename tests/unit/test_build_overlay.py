"""SPARK's files laid over a build workspace: exact bytes at their paths, never written
through a symlink to somewhere outside the workspace."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from spark.db.types import utcnow
from spark.domain.files import EMPTY_SHA256, Author, FileVersion, StoredFile, sha256_of
from spark.engines.unity.overlay import lay_over
from spark.errors import JobFailure


def stored(path: str, content: bytes, version: int = 1) -> StoredFile:
    meta = FileVersion(
        uuid.uuid4(), path, version, sha256_of(content), len(content), Author("a"), "m", utcnow()
    )
    return StoredFile(meta, content)


def test_each_file_replaces_the_sources_bytes_and_is_listed_with_its_version(
    tmp_path: Path,
) -> None:
    (tmp_path / "Assets").mkdir()
    (tmp_path / "Assets" / "Coin.cs").write_text("old")
    laid = lay_over(
        tmp_path,
        [stored("Assets/Coin.cs", b"new coin", 3), stored("Assets/Deep/Er/Gem.cs", b"\x00gem")],
    )
    assert (tmp_path / "Assets" / "Coin.cs").read_bytes() == b"new coin"
    assert (tmp_path / "Assets" / "Deep" / "Er" / "Gem.cs").read_bytes() == b"\x00gem"
    assert laid == [
        {"path": "Assets/Coin.cs", "version": 3, "sha256": sha256_of(b"new coin")},
        {"path": "Assets/Deep/Er/Gem.cs", "version": 1, "sha256": sha256_of(b"\x00gem")},
    ]


def test_a_symlinked_file_is_replaced_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.cs"
    outside.write_text("the user's own file")
    workspace = tmp_path / "ws"
    (workspace / "Assets").mkdir(parents=True)
    (workspace / "Assets" / "Coin.cs").symlink_to(outside)
    lay_over(workspace, [stored("Assets/Coin.cs", b"spark's")])
    assert outside.read_text() == "the user's own file"
    assert not (workspace / "Assets" / "Coin.cs").is_symlink()
    assert (workspace / "Assets" / "Coin.cs").read_bytes() == b"spark's"


@pytest.mark.parametrize("path", ["Assets/Linked/Coin.cs", "Assets/../../escape.cs", "/tmp/x.cs"])
def test_a_path_that_would_land_outside_the_workspace_is_refused(tmp_path: Path, path: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    workspace = tmp_path / "ws"
    (workspace / "Assets").mkdir(parents=True)
    (workspace / "Assets" / "Linked").symlink_to(elsewhere)
    with pytest.raises(JobFailure) as caught:
        lay_over(workspace, [stored(path, b"x")])
    assert caught.value.failure_code == "project_source_unavailable"
    assert list(elsewhere.iterdir()) == []


def tombstone(path: str, version: int) -> StoredFile:
    meta = FileVersion(
        uuid.uuid4(), path, version, EMPTY_SHA256, 0, Author("a"), "m", utcnow(), deleted=True
    )
    return StoredFile(meta, b"")


def test_a_tombstone_removes_the_sources_file_and_is_listed_as_deleted(tmp_path: Path) -> None:
    (tmp_path / "Assets").mkdir()
    (tmp_path / "Assets" / "Coin.cs").write_text("the source's coin")
    laid = lay_over(tmp_path, [tombstone("Assets/Coin.cs", 2), tombstone("Assets/No/Gem.cs", 4)])
    assert not (tmp_path / "Assets" / "Coin.cs").exists()
    assert not (tmp_path / "Assets" / "No").exists()  # nothing is made for a removal
    assert laid == [
        {"path": "Assets/Coin.cs", "version": 2, "sha256": EMPTY_SHA256, "deleted": True},
        {"path": "Assets/No/Gem.cs", "version": 4, "sha256": EMPTY_SHA256, "deleted": True},
    ]


def test_a_tombstone_never_removes_through_a_symlinked_folder(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "Coin.cs").write_text("the user's own file")
    workspace = tmp_path / "ws"
    (workspace / "Assets").mkdir(parents=True)
    (workspace / "Assets" / "Linked").symlink_to(elsewhere)
    with pytest.raises(JobFailure):
        lay_over(workspace, [tombstone("Assets/Linked/Coin.cs", 2)])
    assert (elsewhere / "Coin.cs").read_text() == "the user's own file"
