"""Build workspaces: directory mirrors, git checkouts, the per-project lock, stale Unity groups."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fakes.unity import HELPER_MARKER, processes_mentioning, write_launcher
from spark.domain.projects import Project
from spark.engines.unity.workspace import PIDFILE, Workspace, prepare, scrub, write_pidfile
from spark.errors import JobFailure
from tests.support.git_servers import git


def commit(repo: Path, name: str, content: str) -> str:
    """Commit one file to repo; the new commit's id."""
    (repo / name).write_text(content)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"write {name}")
    return git(repo, "rev-parse", "HEAD")


def make_project(
    source_dir: str | None = None, git_url: str | None = None, default_ref: str | None = None
) -> Project:
    """A project with a fresh id and the given source."""
    return Project(
        uuid.uuid4(), "alice", "Game", datetime.now(UTC), source_dir, git_url, default_ref
    )


def sync(
    project: Project, ref: str | None, root: Path
) -> contextlib.AbstractContextManager[Workspace]:
    """prepare() with the folder holding root (the test's tmp_path, where its sources are)
    as the one source root."""
    return prepare(project, ref, root, source_roots=[root.parent])


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A git repository with one commit on main."""
    repo = tmp_path / "origin"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "README.md", "one\n")
    return repo


def test_directory_source_is_mirrored_and_unitys_caches_are_kept(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "Assets" / "Old").mkdir(parents=True)
    (source / "Assets" / "Player.cs").write_text("class Player {}\n")
    (source / "Assets" / "Old" / "Gone.cs").write_text("class Gone {}\n")
    (source / "Library").mkdir()
    (source / "Library" / "from-source.bin").write_text("a developer's own cache")
    project = make_project(source_dir=str(source))
    root = tmp_path / "workspaces"

    with sync(project, None, root) as ws:
        assert ws.path == root / str(project.id) and ws.revision is None
        assert (ws.path / "Assets" / "Old" / "Gone.cs").is_file()
        assert not (ws.path / "Library" / "from-source.bin").exists()
        for cache in ("Library", "Temp", "Logs", "obj", "Builds"):
            (ws.path / cache).mkdir(exist_ok=True)
            (ws.path / cache / "kept.bin").write_text(cache)
        (ws.path / "Assets" / "Generated.cs").write_text("// not in the source\n")

    (source / "Assets" / "Player.cs").write_text("class Player { int speed; }\n")
    os.utime(source / "Assets" / "Player.cs", (1, 1))  # even an older mtime counts as a change
    (source / "Assets" / "Old" / "Gone.cs").unlink()
    (source / "Assets" / "Old").rmdir()
    (source / "Assets" / "New.cs").write_text("class New {}\n")

    with sync(project, None, root) as ws:
        assert (ws.path / "Assets" / "Player.cs").read_text() == "class Player { int speed; }\n"
        assert (ws.path / "Assets" / "New.cs").is_file()
        assert not (ws.path / "Assets" / "Old").exists()
        assert not (ws.path / "Assets" / "Generated.cs").exists()
        for cache in ("Library", "Temp", "Logs", "obj", "Builds"):
            assert (ws.path / cache / "kept.bin").read_text() == cache


def test_a_source_dir_missing_on_this_builder_is_source_unreachable_naming_it(
    tmp_path: Path,
) -> None:
    """It may exist on the API host or another builder: this machine has no such folder."""
    project = make_project(source_dir=str(tmp_path / "nowhere"))
    with pytest.raises(JobFailure) as caught, sync(project, None, tmp_path / "ws"):
        pass
    assert caught.value.failure_code == "source_unreachable"
    assert str(tmp_path / "nowhere") in caught.value.message
    assert socket.gethostname() in caught.value.message
    assert caught.value.details == {"field": "source_dir", "host": socket.gethostname()}


def test_a_source_dir_that_exists_but_is_no_folder_is_project_source_unavailable(
    tmp_path: Path,
) -> None:
    (tmp_path / "file").write_text("not a Unity project\n")
    project = make_project(source_dir=str(tmp_path / "file"))
    with pytest.raises(JobFailure) as caught, sync(project, None, tmp_path / "ws"):
        pass
    assert caught.value.failure_code == "project_source_unavailable"
    assert "not readable" in caught.value.message


def test_a_file_store_project_starts_from_an_empty_workspace_but_unitys_caches(
    tmp_path: Path,
) -> None:
    """Neither source_dir nor git_url: what an earlier build laid is gone, Library/ stays."""
    project = make_project()
    root = tmp_path / "workspaces"
    with sync(project, None, root) as ws:
        assert ws.revision is None and list(ws.path.iterdir()) == []
        (ws.path / "Assets" / "Scripts").mkdir(parents=True)
        (ws.path / "Assets" / "Scripts" / "Laid.cs").write_text("class Laid {}\n")
        (ws.path / "stray.txt").write_text("left by the last build")
        (ws.path / "Library").mkdir()
        (ws.path / "Library" / "kept.bin").write_text("cache")
    with sync(project, None, root) as ws:
        assert sorted(p.name for p in ws.path.iterdir()) == ["Library"]
        assert (ws.path / "Library" / "kept.bin").read_text() == "cache"


def test_git_clone_then_fetch_sees_a_new_commit(tmp_path: Path, origin: Path) -> None:
    project = make_project(git_url=str(origin))
    root = tmp_path / "workspaces"
    with sync(project, None, root) as ws:
        assert ws.revision == git(origin, "rev-parse", "HEAD")
        assert (ws.path / "README.md").read_text() == "one\n"
        (ws.path / "Library").mkdir()
        (ws.path / "Library" / "kept.bin").write_text("cache")
        (ws.path / "stray.txt").write_text("left by the last build")

    second = commit(origin, "Player.cs", "class Player {}\n")
    with sync(project, None, root) as ws:
        assert ws.revision == second
        assert (ws.path / "Player.cs").is_file()
        assert not (ws.path / "stray.txt").exists()
        assert (ws.path / "Library" / "kept.bin").read_text() == "cache"


def test_branch_tag_and_commit_refs_check_out(tmp_path: Path, origin: Path) -> None:
    first = git(origin, "rev-parse", "HEAD")
    git(origin, "tag", "v1")
    second = commit(origin, "two.txt", "two\n")
    git(origin, "checkout", "-q", "-b", "feature")
    feature = commit(origin, "feature.txt", "feature\n")
    git(origin, "checkout", "-q", "main")
    project = make_project(git_url=str(origin))
    root = tmp_path / "workspaces"

    for ref, expected in (("feature", feature), ("v1", first), (second, second), (None, second)):
        with sync(project, ref, root) as ws:
            assert ws.revision == expected, ref
    with sync(project, first[:10], root) as ws:
        assert ws.revision == first and not (ws.path / "two.txt").exists()
    defaulted = make_project(git_url=str(origin), default_ref="feature")
    with sync(defaulted, None, root) as ws:
        assert ws.revision == feature and (ws.path / "feature.txt").is_file()


def test_unknown_ref_is_project_source_unavailable(tmp_path: Path, origin: Path) -> None:
    project = make_project(git_url=str(origin))
    with pytest.raises(JobFailure) as caught, sync(project, "no-such-branch", tmp_path / "ws"):
        pass
    assert caught.value.failure_code == "project_source_unavailable"
    assert "no-such-branch" in caught.value.message


def test_git_errors_never_show_credentials(tmp_path: Path) -> None:
    project = make_project(git_url="https://bob:s3cret@127.0.0.1:1/game.git")
    with pytest.raises(JobFailure) as caught, sync(project, None, tmp_path / "ws"):
        pass
    assert caught.value.failure_code == "project_source_unavailable"
    assert "127.0.0.1" in caught.value.message
    assert "s3cret" not in caught.value.message and "bob" not in caught.value.message
    assert scrub("see https://u:p@host/x and ssh://git@h/y") == "see https://host/x and ssh://h/y"


def test_two_builds_of_one_project_wait_for_each_other(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    project = make_project(source_dir=str(source))
    root = tmp_path / "workspaces"
    entered = threading.Event()

    def second_build() -> None:
        with sync(project, None, root):
            entered.set()

    with sync(project, None, root):
        thread = threading.Thread(target=second_build)
        thread.start()
        assert not entered.wait(0.5)
    assert entered.wait(5)
    thread.join(5)


def test_a_stale_unity_group_from_a_killed_worker_is_killed(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    project = make_project(source_dir=str(source))
    root = tmp_path / "workspaces"
    workspace = root / str(project.id)
    workspace.mkdir(parents=True)
    command = [str(write_launcher(tmp_path / "bin")), "-batchmode", "-projectPath", str(workspace)]
    env = {**os.environ, "FAKE_UNITY_MODE": "hang", "FAKE_UNITY_DELAY_S": "0"}
    # Its own session, as the runner starts Unity; a thread reaps it like init would.
    stale = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    threading.Thread(target=stale.wait, daemon=True).start()
    try:
        deadline = time.monotonic() + 10
        while not processes_mentioning(f"{HELPER_MARKER} {workspace}"):
            assert time.monotonic() < deadline, "the fake never started its helper"
            time.sleep(0.05)
        write_pidfile(workspace, stale.pid)

        with sync(project, None, root):
            assert processes_mentioning(str(workspace)) == []
            assert not (workspace / PIDFILE).exists()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(stale.pid, signal.SIGKILL)
