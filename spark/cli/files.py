"""`spark files ls|show|history|rollback|rm|diff|export|import`: a project's versioned files."""

from __future__ import annotations

import difflib
import json
import sys
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from spark.cli import file_import
from spark.cli.jobs import JsonFlag, client_from_settings
from spark.cli.output import console, emit_json, err_console, fail
from spark.client import ApiError, SparkClient
from spark.contracts.paths import MAX_CODE_BYTES

files_app = typer.Typer(no_args_is_help=True)

ProjectArg = Annotated[str, typer.Argument(help="Project id or name.")]
PathArg = Annotated[str, typer.Argument(help="File path, e.g. Assets/Scripts/Player.cs.")]


def _author(version: Any) -> str:
    author = version["author"]
    return f"{author['user']} ({author['subject']})" if author.get("subject") else author["user"]


def _project_id(client: SparkClient, project: str) -> str:
    return str(client.find_project(project)["id"])


@files_app.command("ls")
def ls(
    project: ProjectArg,
    prefix: Annotated[str, typer.Argument(help="Only paths starting with this.")] = "",
    limit: Annotated[int, typer.Option()] = 50,
    cursor: Annotated[str | None, typer.Option()] = None,
    as_json: JsonFlag = False,
) -> None:
    """The project's files in path order, each at its newest version."""
    with closing(client_from_settings()) as client:
        try:
            page = client.files(_project_id(client, project), prefix, limit, cursor)
        except ApiError as exc:
            fail(exc, as_json)
    if as_json:
        emit_json(page)
        return
    table = Table("version", "size", "sha256", "updated")
    # a path is what a reader copies into the next command: never wrapped or cut
    table.add_column("path", no_wrap=True)
    for f in page["items"]:
        row = (str(f["version"]), str(f["size"]), f["sha256"][:12], f["updated_at"][:19])
        table.add_row(*row, f["path"])
    console.print(table)
    if page["next_cursor"]:
        err_console.print(f"more: --cursor {page['next_cursor']}")


@files_app.command("show")
def show(
    project: ProjectArg,
    path: PathArg,
    version: Annotated[int | None, typer.Option(help="This version, not the newest.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A file's content (its exact bytes on stdout); --json prints the version with it."""
    with closing(client_from_settings()) as client:
        try:
            project_id = _project_id(client, project)
            if as_json:
                emit_json(client.file(project_id, path, version))
                return
            content = client.file_bytes(project_id, path, version)
        except ApiError as exc:
            fail(exc, as_json)
    sys.stdout.buffer.write(content)
    sys.stdout.flush()


@files_app.command("history")
def history(
    project: ProjectArg,
    path: PathArg,
    limit: Annotated[int, typer.Option()] = 20,
    cursor: Annotated[str | None, typer.Option()] = None,
    as_json: JsonFlag = False,
) -> None:
    """A file's versions, newest first."""
    with closing(client_from_settings()) as client:
        try:
            page = client.file_history(_project_id(client, project), path, limit, cursor)
        except ApiError as exc:
            fail(exc, as_json)
    if as_json:
        emit_json(page)
        return
    table = Table("version", "created", "author", "job", "size", "message")
    for v in page["items"]:
        table.add_row(
            str(v["version"]),
            v["created_at"],
            _author(v),
            (v["job_id"] or "")[:8],
            "deleted" if v.get("deleted") else str(v["size"]),
            v["message"],
        )
    console.print(table)
    if page["next_cursor"]:
        err_console.print(f"more: --cursor {page['next_cursor']}")


@files_app.command("rollback")
def rollback(
    project: ProjectArg,
    path: PathArg,
    to: Annotated[int, typer.Option("--to", help="The version whose content to restore.")],
    as_json: JsonFlag = False,
) -> None:
    """Write an old version's content as the file's newest version."""
    with closing(client_from_settings()) as client:
        try:
            version = client.rollback_file(_project_id(client, project), path, to)
        except ApiError as exc:
            fail(exc, as_json)
    if as_json:
        emit_json(version)
        return
    console.print(f"{path}: version {version['version']} has version {to}'s content")


@files_app.command("rm")
def rm(
    project: ProjectArg,
    path: PathArg,
    base_version: Annotated[
        int | None,
        typer.Option("--base-version", help="Refuse (409) unless the file is at this version."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Delete a file: a tombstone version that listing hides and history shows."""
    with closing(client_from_settings()) as client:
        try:
            version = client.delete_file(_project_id(client, project), path, base_version)
        except ApiError as exc:
            fail(exc, as_json)
    if as_json:
        emit_json(version)
        return
    console.print(f"{path}: deleted at version {version['version']}")


def unified(path: str, before: Any, after: Any) -> str:
    """The unified diff from version before to version after (None: the empty file)."""
    texts = [v["content"] if v else "" for v in (before, after)]
    labels = [f"{path}@{v['version'] if v else 0}" for v in (before, after)]
    if None in texts:
        same = before and after and before["sha256"] == after["sha256"]
        return "" if same else f"Binary files {labels[0]} and {labels[1]} differ\n"
    lines = [t.splitlines(keepends=True) for t in texts]
    return "".join(difflib.unified_diff(lines[0], lines[1], labels[0], labels[1]))


@files_app.command("diff")
def diff(
    project: ProjectArg,
    path: PathArg,
    from_version: Annotated[
        int | None, typer.Option("--from", help="Default: --to minus 1.")
    ] = None,
    to_version: Annotated[int | None, typer.Option("--to", help="Default: the newest.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A unified diff between two versions of a file, by default the previous and the newest."""
    with closing(client_from_settings()) as client:
        try:
            project_id = _project_id(client, project)
            after = client.file(project_id, path, to_version)
            start = after["version"] - 1 if from_version is None else from_version
            before = client.file(project_id, path, start) if start > 0 else None
        except ApiError as exc:
            fail(exc, as_json)
    text = unified(path, before, after)
    if as_json:
        emit_json({"path": path, "from": start, "to": after["version"], "diff": text})
        return
    sys.stdout.write(text)


@files_app.command("export")
def export(
    project: ProjectArg,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Default: stdout.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The project's whole file history as JSON (so --json changes only how errors print),
    for `spark files import`."""
    with closing(client_from_settings()) as client:
        try:
            project_id = _project_id(client, project)
            if output is None:
                client.export_history(project_id, sys.stdout.buffer)
            else:
                with output.open("wb") as sink:
                    client.export_history(project_id, sink)
        except ApiError as exc:
            fail(exc, as_json)


@files_app.command("import")
def import_(
    project: ProjectArg,
    source: Annotated[
        Path,
        typer.Argument(help="A Unity project directory, or a document from `spark files export`."),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Import a Unity project directory's files (Assets/, Packages/, ProjectSettings/) that
    the project does not have yet, or a file history into a project that has none of its
    paths yet."""
    if source.is_dir():
        _import_directory(project, source, as_json)
        return
    try:
        document = json.loads(source.read_text())
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"{source}: {exc}") from None
    with closing(client_from_settings()) as client:
        try:
            done = client.import_history(_project_id(client, project), document)
        except ApiError as exc:
            fail(exc, as_json)
    if as_json:
        emit_json(done)
        return
    console.print(f"imported {len(done['files'])} files, {done['versions']} versions")


def _import_directory(project: str, directory: Path, as_json: bool) -> None:
    """Write the directory's new files under a progress bar, then say what was left out."""
    columns = (TextColumn("importing"), BarColumn(), DownloadColumn(), TimeElapsedColumn())
    with closing(client_from_settings()) as client:
        try:
            project_id = _project_id(client, project)
            planned = file_import.plan(client, project_id, directory)
            message = f"imported from {directory.resolve().name}"
            with Progress(*columns, console=err_console, disable=as_json) as bar:
                task = bar.add_task("files", total=planned.new_bytes)
                advance = partial(bar.advance, task)
                requests = file_import.write(client, project_id, planned, message, advance)
        except ApiError as exc:
            fail(exc, as_json)
    if as_json:
        emit_json(planned.as_dict(requests))
        return
    console.print(f"imported {len(planned.new)} files ({len(planned.unchanged)} unchanged)")
    for label, paths in (
        (
            "differ from SPARK's version, which stays (change it with a job or a rollback)",
            planned.differing,
        ),
        (f"over {MAX_CODE_BYTES // 1024} KB, not imported", planned.too_large),
        ("not a name a project file may have, not imported", planned.refused),
    ):
        if paths:
            err_console.print(f"{len(paths)} {label}: {', '.join(paths[:10])}")
