"""SPARK_SOURCE_ROOTS: a project's directory, resolved, must lie under one of the caller's
roots; `{user}` never lets a user name climb out; file:// URLs are read as git reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spark.cli.up import home_source_roots
from spark.config import Settings
from spark.domain.projects import LocalSource, file_url, git_local_path, local_source
from spark.security.sources import SourceRefused, place, roots_for


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A folder standing for /srv/sources, with alice's folder and game in it."""
    (tmp_path / "sources" / "alice" / "game").mkdir(parents=True)
    return tmp_path / "sources"


def test_unset_roots_refuse_every_directory_naming_the_setting() -> None:
    with pytest.raises(SourceRefused, match="SPARK_SOURCE_ROOTS is not set"):
        place("/home/alice/game", None, "alice")


def test_a_directory_under_the_callers_own_root_is_placed_resolved(sources: Path) -> None:
    roots = [sources / "{user}"]
    given = f"{sources}/alice/./game/../game"
    assert place(given, roots, "alice") == (sources / "alice" / "game").resolve()


@pytest.mark.parametrize(
    "path",
    ["/etc", "/root", "/proc/self", "/", "{s}/bob/game", "{s}/alice/../bob", "{s}/alice2/game"],
)
def test_anything_outside_the_callers_root_is_refused(sources: Path, path: str) -> None:
    (sources / "alice2" / "game").mkdir(parents=True)
    with pytest.raises(SourceRefused, match="must lie under one of SPARK_SOURCE_ROOTS"):
        place(path.format(s=sources), [sources / "{user}"], "alice")


def test_a_symlink_under_the_root_is_judged_by_where_it_leads(sources: Path) -> None:
    (sources / "alice" / "etc").symlink_to("/etc")
    (sources / "alice" / "same-game").symlink_to(sources / "alice" / "game")
    roots = [sources / "{user}"]
    with pytest.raises(SourceRefused, match="it is /etc"):
        place(str(sources / "alice" / "etc"), roots, "alice")
    assert place(str(sources / "alice" / "same-game"), roots, "alice") == sources / "alice" / "game"


@pytest.mark.parametrize("user", ["..", ".", "", ".hidden", "a/b", "../bob", "a\x00b", "x" * 200])
def test_a_user_name_that_is_not_a_plain_file_name_gets_no_user_root(
    sources: Path, user: str
) -> None:
    assert roots_for([sources / "{user}", sources / "shared"], user) == [
        (sources / "shared").resolve()
    ]
    with pytest.raises(SourceRefused, match="none for this user name"):
        place(str(sources / "alice" / "game"), [sources / "{user}"], user)


def test_a_relative_or_unresolvable_path_is_refused(sources: Path) -> None:
    (sources / "alice" / "loop").symlink_to(sources / "alice" / "loop")
    with pytest.raises(SourceRefused, match="absolute"):
        place("alice/game", [sources], "alice")
    with pytest.raises(SourceRefused, match="cannot be resolved"):
        place(str(sources / "alice" / "loop" / "x"), [sources], "alice")


def test_the_root_itself_is_resolved(tmp_path: Path, sources: Path) -> None:
    (tmp_path / "link").symlink_to(sources)
    assert place(str(sources / "alice" / "game"), [tmp_path / "link"], "alice") == (
        sources / "alice" / "game"
    )


def test_roots_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="not an absolute path"):
        Settings(source_roots=[Path("var/sources")])


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("file:///srv/sources/alice/repo.git", "/srv/sources/alice/repo.git"),
        ("file://any-host/srv/repo", "/srv/repo"),
        ("FILE:///srv/repo", "/srv/repo"),
        ("file:///srv/sources/alice/%2e%2e/bob", "/srv/sources/alice/../bob"),
        ("file:///srv/a?/../b#c", "/srv/a?/../b#c"),
        ("/srv/repo", "/srv/repo"),
        ("./repo:x", "./repo:x"),
        ("https://git.example.com/game.git", None),
        ("ssh://git@example.com/game.git", None),
        ("git@example.com:game.git", None),
        ("example.com:game.git", None),
    ],
)
def test_a_git_url_is_read_as_git_reads_it(url: str, path: str | None) -> None:
    assert git_local_path(url) == path


@pytest.mark.parametrize("name", ["repo.git", "a b", "100%", "x?y#z", "ünï"])
def test_file_urls_name_exactly_their_directory(name: str) -> None:
    path = Path("/srv/sources/alice") / name
    assert git_local_path(file_url(path)) == str(path)


def test_a_project_reads_its_directory_or_its_local_repository_never_a_remote_one() -> None:
    assert local_source("/srv/game", None) == LocalSource("source_dir", "/srv/game")
    assert local_source(None, "file:///srv/repo") == LocalSource("git_url", "/srv/repo")
    assert local_source(None, "https://example.com/game.git") is None


def test_spark_up_gives_its_processes_the_users_home_unless_roots_are_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert home_source_roots(Settings()) == {"SPARK_SOURCE_ROOTS": json.dumps([str(tmp_path)])}
    monkeypatch.setenv("SPARK_SOURCE_ROOTS", '["/srv/sources/{user}"]')
    assert home_source_roots(Settings()) == {}
