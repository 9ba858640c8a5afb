"""A build reads its project's source only under SPARK_SOURCE_ROOTS: checked again on the
builder, the copy never following a symlink out, local git repositories copied the same way."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spark.domain.projects import Project, file_url
from spark.engines.unity.workspace import prepare
from spark.errors import JobFailure
from tests.integration.test_workspace import commit
from tests.support.git_servers import git

SECRET = "root:x:0:0:the secret outside the roots\n"


@pytest.fixture
def farm(tmp_path: Path) -> Path:
    """Standing for /srv/sources: alice's game in her folder, a secret outside every root."""
    game = tmp_path / "sources" / "alice" / "game"
    (game / "Assets").mkdir(parents=True)
    (game / "Assets" / "Player.cs").write_text("class Player {}\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "passwd").write_text(SECRET)
    return tmp_path


def roots(farm: Path) -> list[Path]:
    return [farm / "sources" / "{user}"]


def project_of(source_dir: str | None = None, git_url: str | None = None) -> Project:
    return Project(uuid.uuid4(), "alice", "Game", datetime.now(UTC), source_dir, git_url)


def build_fails(project: Project, farm: Path, code: str) -> JobFailure:
    """Sync project's workspace expecting failure code; nothing of the secret in it after."""
    root = farm / "workspaces"
    with (
        pytest.raises(JobFailure) as caught,
        prepare(project, None, root, source_roots=roots(farm)),
    ):
        pass
    assert caught.value.failure_code == code, caught.value.message
    assert not holds_secret(root)
    return caught.value


def holds_secret(root: Path) -> bool:
    """Whether any regular file under root holds the secret (symlinks not followed)."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink() and SECRET in path.read_text(errors="replace"):
                return True
    return False


def test_a_source_swapped_for_a_symlink_out_of_the_root_is_source_unreachable(
    farm: Path,
) -> None:
    game = farm / "sources" / "alice" / "game"
    project = project_of(source_dir=str(game))
    game.rename(game.with_name("moved"))
    game.symlink_to(farm / "outside")
    failure = build_fails(project, farm, "source_unreachable")
    assert "SPARK_SOURCE_ROOTS" in failure.message and str(farm / "outside") in failure.message


def test_another_users_directory_is_source_unreachable(farm: Path) -> None:
    (farm / "sources" / "bob" / "game").mkdir(parents=True)
    project = project_of(source_dir=str(farm / "sources" / "bob" / "game"))
    build_fails(project, farm, "source_unreachable")


def test_with_roots_unset_no_directory_is_read(farm: Path) -> None:
    project = project_of(source_dir=str(farm / "sources" / "alice" / "game"))
    root = farm / "workspaces"
    with pytest.raises(JobFailure) as caught, prepare(project, None, root, source_roots=None):
        pass
    assert caught.value.failure_code == "source_unreachable"
    assert "SPARK_SOURCE_ROOTS is not set" in caught.value.message


def test_a_symlink_in_the_tree_leading_out_of_the_roots_stops_the_copy(farm: Path) -> None:
    game = farm / "sources" / "alice" / "game"
    (game / "Assets" / "passwd").symlink_to(farm / "outside" / "passwd")
    failure = build_fails(project_of(source_dir=str(game)), farm, "source_unreachable")
    assert failure.details == {"path": "Assets/passwd"}


def test_symlinks_in_the_tree_point_at_the_workspaces_copy_or_stay_in_the_root(
    farm: Path,
) -> None:
    game = farm / "sources" / "alice" / "game"
    shared = farm / "sources" / "alice" / "shared"
    shared.mkdir()
    (game / "Assets" / "Same.cs").symlink_to(game / "Assets" / "Player.cs")
    (game / "Assets" / "Up").symlink_to("..")
    (game / "Packages").symlink_to(shared)
    root = farm / "workspaces"
    with prepare(project_of(source_dir=str(game)), None, root, source_roots=roots(farm)) as ws:
        assert os.readlink(ws.path / "Assets" / "Same.cs") == "Player.cs"
        assert (ws.path / "Assets" / "Same.cs").resolve() == ws.path / "Assets" / "Player.cs"
        assert (ws.path / "Assets" / "Up").resolve() == ws.path
        assert os.readlink(ws.path / "Packages") == str(shared.resolve())


def test_a_fifo_is_left_out_of_the_copy(farm: Path) -> None:
    game = farm / "sources" / "alice" / "game"
    os.mkfifo(game / "Assets" / "pipe")
    root = farm / "workspaces"
    with prepare(project_of(source_dir=str(game)), None, root, source_roots=roots(farm)) as ws:
        assert (ws.path / "Assets" / "Player.cs").is_file()
        assert not (ws.path / "Assets" / "pipe").exists()


@pytest.fixture
def repo(farm: Path) -> Path:
    """A git work tree with one commit, in alice's folder."""
    path = farm / "sources" / "alice" / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    commit(path, "README.md", "one\n")
    return path


def test_a_local_repository_is_cloned_from_a_copy_made_under_the_roots(
    farm: Path, repo: Path
) -> None:
    project = project_of(git_url=file_url(repo))
    root = farm / "workspaces"
    with prepare(project, None, root, source_roots=roots(farm)) as ws:
        assert (ws.path / "README.md").read_text() == "one\n"
        origin = git(ws.path, "remote", "get-url", "origin")
        assert origin == file_url(root.resolve() / f"{project.id}.repository")


def test_a_repository_reaching_out_through_a_symlink_is_source_unreachable(
    farm: Path, repo: Path
) -> None:
    refs = repo / ".git" / "refs"
    (farm / "outside" / "refs").mkdir()
    refs.rename(farm / "outside" / "refs" / "heads-moved")
    refs.symlink_to(farm / "outside" / "refs" / "heads-moved")
    build_fails(project_of(git_url=file_url(repo)), farm, "source_unreachable")


def test_a_repository_borrowing_another_ones_objects_is_source_unreachable(
    farm: Path, repo: Path
) -> None:
    (repo / ".git" / "objects" / "info" / "alternates").write_text(f"{farm}/outside\n")
    failure = build_fails(project_of(git_url=file_url(repo)), farm, "source_unreachable")
    assert "alternates" in failure.message


def test_a_git_file_naming_another_repository_is_source_unreachable(farm: Path, repo: Path) -> None:
    other = farm / "sources" / "alice" / "linked"
    other.mkdir()
    (other / ".git").write_text(f"gitdir: {repo / '.git'}\n")
    build_fails(project_of(git_url=file_url(other)), farm, "source_unreachable")


def test_a_repository_outside_the_roots_is_source_unreachable(farm: Path) -> None:
    outside = farm / "outside" / "repo"
    outside.mkdir()
    git(outside, "init", "-q", "-b", "main")
    commit(outside, "passwd", SECRET)
    for url in (
        file_url(outside),
        str(outside),
        f"file://{farm}/sources/alice/%2e%2e/../outside/repo",
    ):
        build_fails(project_of(git_url=url), farm, "source_unreachable")
