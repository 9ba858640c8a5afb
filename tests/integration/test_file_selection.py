"""Reading a project's current files by path and glob, and a job's writes made once."""

from __future__ import annotations

import uuid

from spark.db.executor import Database
from spark.domain.files import Author
from spark.projects import files
from tests.integration.test_file_store import new_project


def test_a_job_run_again_does_not_write_the_same_file_twice(db: Database) -> None:
    """Same job, same bytes: the version it wrote; another job, or other bytes: a new one."""
    project = new_project(db)
    job = Author("alice", "key-1", uuid.uuid4())
    path = "Assets/Scripts/Coin.cs"
    first = files.write_for_job(db, project, path, b"a", job, "m")
    assert files.write_for_job(db, project, path, b"a", job, "m") == first
    assert first.before is None
    second = files.write_for_job(db, project, path, b"b", job, "m")
    assert second.after.version == 2
    other = Author("alice", "key-1", uuid.uuid4())
    assert files.write_for_job(db, project, path, b"b", other, "m").after.version == 3


def test_a_job_run_again_is_told_the_version_its_write_replaced(db: Database) -> None:
    """The editor push of a rerun needs the SHA-256 the first run wrote over."""
    project, job = new_project(db), Author("alice", "key-1", uuid.uuid4())
    path = "Assets/Scripts/Coin.cs"
    files.write(db, project, path, b"mine", Author("alice"), "m")
    first = files.write_for_job(db, project, path, b"the job's", job, "m")
    again = files.write_for_job(db, project, path, b"the job's", job, "m")
    assert again.after == first.after
    assert again.before is not None and first.before is not None
    assert again.before.version.sha256 == first.before.version.sha256


def test_current_files_are_the_newest_versions_a_path_or_glob_names(db: Database) -> None:
    project, alice = new_project(db), Author("alice")
    for path, content in [
        ("Assets/Scripts/A.cs", b"a1"),
        ("Assets/Scripts/A.cs", b"a2"),
        ("Assets/Scripts/Deep/B.cs", b"b"),
        ("Assets/Scripts%/C.cs", b"c"),
        ("Assets/Art/D.png", b"\x89PNG"),
    ]:
        files.write(db, project, path, content, alice, "m")
    assert [h.path for h in files.matching(db, project, "Assets/Scripts/**/*.cs")] == [
        "Assets/Scripts/A.cs",
        "Assets/Scripts/Deep/B.cs",
    ]
    assert [h.path for h in files.matching(db, project, "Assets/Art/D.png")] == ["Assets/Art/D.png"]
    assert files.matching(db, project, "Assets/Art/E.png") == []
    picked = files.current_files(db, project, ["Assets/Scripts/A.cs", "Assets/Art/D.png", "X"])
    assert [(f.version.path, f.version.version, f.content) for f in picked] == [
        ("Assets/Art/D.png", 1, b"\x89PNG"),
        ("Assets/Scripts/A.cs", 2, b"a2"),
    ]
    every = files.current_files(db, project)
    assert [f.version.path for f in every] == sorted(
        [
            "Assets/Scripts/A.cs",
            "Assets/Scripts/Deep/B.cs",
            "Assets/Scripts%/C.cs",
            "Assets/Art/D.png",
        ]
    )
    assert files.current_files(db, new_project(db)) == []
