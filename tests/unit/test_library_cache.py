"""The Library cache on its own: restore copies, save moves, LRU eviction under the cap, entries
over the cap, a failed write, a dead save's leftovers, concurrent saves and the key's parts."""

from __future__ import annotations

import errno
import multiprocessing
import os
import uuid
from pathlib import Path

import pytest

from spark.domain.targets import BuildTarget
from spark.engines.unity import library_cache
from spark.engines.unity.library_cache import CacheKey, LibraryCache, key_version

KIB = 1024
#: what a usage file adds to an entry's size
USAGE = 42


def key(target: BuildTarget = BuildTarget.WEBGL, version: str = "2022.3.20f1") -> CacheKey:
    return CacheKey(uuid.uuid4(), target, version)


def fill_library(workspace: Path, size: int, tag: str = "a") -> None:
    """A Library/ in workspace of size bytes in two files, tagged so a test can tell it apart."""
    library = workspace / "Library"
    (library / "Artifacts").mkdir(parents=True, exist_ok=True)
    (library / "ArtifactDB").write_text(tag)
    (library / "Artifacts" / "blob").write_bytes(b"x" * (size - len(tag)))


def tag_of(workspace: Path) -> str:
    return (workspace / "Library" / "ArtifactDB").read_text()


def files_bytes(root: Path) -> int:
    """Every file's bytes under root, as a disk-usage tool sums apparent sizes."""
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() or p.is_symlink())


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


def test_a_miss_leaves_the_workspace_without_a_library_as_on_a_fresh_builder(
    tmp_path: Path, workspace: Path
) -> None:
    cache = LibraryCache(tmp_path / "cache", 10 * KIB)
    fill_library(workspace, KIB, "left by a killed build")
    assert cache.restore(key(), workspace) is False
    assert not (workspace / "Library").exists()


def test_save_moves_the_library_in_and_restore_copies_it_back_leaving_the_entry_whole(
    tmp_path: Path, workspace: Path
) -> None:
    cache, k = LibraryCache(tmp_path / "cache", 10 * KIB), key()
    fill_library(workspace, KIB, "first")
    assert cache.save(k, workspace) == KIB + USAGE
    assert not (workspace / "Library").exists()
    assert cache.restore(k, workspace) is True
    assert tag_of(workspace) == "first"
    # The build changes its copy, then fails: the cached entry is untouched.
    (workspace / "Library" / "ArtifactDB").write_text("half-written")
    cache.discard(workspace)
    assert not (workspace / "Library").exists()
    assert cache.restore(k, workspace) is True and tag_of(workspace) == "first"


def test_a_save_replaces_the_keys_entry(tmp_path: Path, workspace: Path) -> None:
    cache, k = LibraryCache(tmp_path / "cache", 10 * KIB), key()
    for tag in ("first", "second"):
        fill_library(workspace, KIB, tag)
        cache.save(k, workspace)
    assert [entry.path.name for entry in cache.entries()] == [k.name]
    assert cache.restore(k, workspace) and tag_of(workspace) == "second"


def test_eviction_drops_the_least_recently_used_and_keeps_the_total_under_the_cap(
    tmp_path: Path, workspace: Path
) -> None:
    cap = 2 * (KIB + USAGE) + 100
    cache = LibraryCache(tmp_path / "cache", cap)
    a, b, c, d = key(), key(), key(), key()
    for k in (a, b):
        fill_library(workspace, KIB)
        cache.save(k, workspace)
    # Restoring a makes b the least recently used.
    assert cache.restore(a, workspace)
    for k in (c, d):
        fill_library(workspace, KIB)
        cache.save(k, workspace)
        assert files_bytes(tmp_path / "cache") <= cap
    assert [entry.path.name for entry in cache.entries()] == [c.name, d.name]
    assert not cache.restore(a, workspace) and not cache.restore(b, workspace)
    assert list((tmp_path / "cache" / "staging").iterdir()) == []


def test_an_entry_larger_than_the_cap_is_not_kept_and_evicts_nothing(
    tmp_path: Path, workspace: Path
) -> None:
    cache, small, big = LibraryCache(tmp_path / "cache", 4 * KIB), key(), key()
    fill_library(workspace, KIB)
    cache.save(small, workspace)
    fill_library(workspace, 8 * KIB)
    assert cache.save(big, workspace) is None
    assert [entry.path.name for entry in cache.entries()] == [small.name]
    assert not cache.restore(big, workspace)


def test_a_cap_of_zero_keeps_nothing(tmp_path: Path, workspace: Path) -> None:
    cache, k = LibraryCache(tmp_path / "cache", 0), key()
    fill_library(workspace, KIB)
    assert cache.save(k, workspace) is None
    assert cache.entries() == [] and files_bytes(tmp_path / "cache") == 0


def test_a_full_disk_while_saving_is_logged_not_raised_and_leaves_no_staging(
    tmp_path: Path,
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache, k = LibraryCache(tmp_path / "cache", 10 * KIB), key()

    def disk_full(entry: Path, size: int, last_used_ns: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(library_cache, "_write_usage", disk_full)
    fill_library(workspace, KIB)
    assert cache.save(k, workspace) is None
    assert "No space left on device" in caplog.text
    assert list((tmp_path / "cache" / "staging").iterdir()) == []
    assert cache.entries() == []


def test_what_a_dead_save_staged_is_swept_by_the_next_save(tmp_path: Path, workspace: Path) -> None:
    cache = LibraryCache(tmp_path / "cache", 10 * KIB)
    dead = tmp_path / "cache" / "staging" / "deadbeef"
    (dead / "Library").mkdir(parents=True)
    (dead / "Library" / "ArtifactDB").write_bytes(b"x" * KIB)
    (dead.parent / "deadbeef.lock").touch()
    fill_library(workspace, KIB)
    cache.save(key(), workspace)
    assert list(dead.parent.iterdir()) == []


def test_a_symlink_in_a_library_is_kept_as_a_link_never_followed(
    tmp_path: Path, workspace: Path
) -> None:
    cache, k = LibraryCache(tmp_path / "cache", 10 * KIB), key()
    secret = tmp_path / "secret.txt"
    secret.write_text("not the cache's")
    fill_library(workspace, KIB)
    (workspace / "Library" / "link").symlink_to(secret)
    cache.save(k, workspace)
    assert cache.restore(k, workspace)
    assert os.readlink(workspace / "Library" / "link") == str(secret)
    assert cache.entries()[0].size == KIB + USAGE + len(str(secret))


def test_a_library_that_is_a_symlink_is_not_saved(tmp_path: Path, workspace: Path) -> None:
    cache, elsewhere = LibraryCache(tmp_path / "cache", 10 * KIB), tmp_path / "elsewhere"
    fill_library(elsewhere, KIB)
    (workspace / "Library").symlink_to(elsewhere / "Library")
    assert cache.save(key(), workspace) is None
    assert (elsewhere / "Library" / "ArtifactDB").exists()


def _save_many(root: str, cap: int, index: int) -> list[str]:
    """In a process of its own: save ten Libraries under fresh keys, restoring each once."""
    cache, workspace = LibraryCache(Path(root), cap), Path(root).parent / f"ws{index}"
    workspace.mkdir()
    names = []
    for _ in range(10):
        k = key()
        fill_library(workspace, KIB, k.name)
        cache.save(k, workspace)
        if cache.restore(k, workspace):
            assert tag_of(workspace) == k.name
        names.append(k.name)
    return names


def test_concurrent_saves_from_four_processes_keep_every_entry_whole_and_under_the_cap(
    tmp_path: Path,
) -> None:
    cap = 5 * (KIB + USAGE)
    root = tmp_path / "cache"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        saved = pool.starmap(_save_many, [(str(root), cap, index) for index in range(4)])
    assert len({name for names in saved for name in names}) == 40
    entries = LibraryCache(root, cap).entries()
    assert 1 <= len(entries) <= 5 and files_bytes(root) <= cap
    for entry in entries:
        assert (entry.path / "Library" / "ArtifactDB").read_text() == entry.path.name
    assert list((root / "staging").iterdir()) == []


@pytest.mark.parametrize(
    ("project_id", "target", "version"),
    [
        ("../../etc", BuildTarget.WEBGL, "2022.3.20f1"),
        (uuid.uuid4(), "../WebGL", "2022.3.20f1"),
        (uuid.uuid4(), BuildTarget.WEBGL, "../2022.3.20f1"),
        (uuid.uuid4(), BuildTarget.WEBGL, "2022.3.20f1/../../x"),
        (uuid.uuid4(), BuildTarget.WEBGL, ""),
    ],
)
def test_a_key_part_that_is_not_what_it_claims_is_refused(
    project_id: object, target: object, version: str
) -> None:
    with pytest.raises(ValueError):
        CacheKey(project_id, target, version)  # type: ignore[arg-type]


def test_a_key_names_one_folder_of_its_three_parts() -> None:
    project_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    k = CacheKey(project_id, BuildTarget.STANDALONE_LINUX64, "6000.0.23f1")
    assert k.name == "12345678-1234-5678-1234-567812345678_StandaloneLinux64_6000.0.23f1"
    assert CacheKey(project_id, BuildTarget.IOS, "unknown").name.endswith("_iOS_unknown")


def test_an_editor_version_that_cannot_key_the_cache_is_unknown() -> None:
    assert key_version("2023.1.0b4") == "2023.1.0b4"
    assert key_version(None) == "unknown"
    assert key_version("2022.3.20f1 (61c2feb0970d)") == "unknown"
