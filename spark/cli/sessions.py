"""`spark session new|show|end|list`: sessions from a terminal."""

from __future__ import annotations

from contextlib import closing
from typing import Annotated, Any

import typer
from rich.table import Table

from spark.cli.jobs import JsonFlag, client_from_settings
from spark.cli.output import console, emit_json, fail
from spark.client import ApiError

session_app = typer.Typer(no_args_is_help=True)


@session_app.command("new")
def new(
    title: Annotated[str | None, typer.Option(help="A title to find the session by.")] = None,
    project: Annotated[
        str | None, typer.Option(help="Project id or name its jobs work on.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Open a session."""
    body: dict[str, Any] = {}
    if title is not None:
        body["title"] = title
    try:
        with closing(client_from_settings()) as client:
            if project is not None:
                body["project_id"] = client.find_project(project)["id"]
            opened = client.create_session(body)
    except ApiError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json(opened)
        return
    console.print(opened["id"], markup=False)


@session_app.command("show")
def show(session_id: str, as_json: JsonFlag = False) -> None:
    """A session: its messages, its latest jobs and what they used."""
    try:
        with closing(client_from_settings()) as client:
            found = client.session(session_id)
    except ApiError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json(found)
        return
    _print_session(found)


def _print_session(found: Any) -> None:
    title = f" {found['title']}" if found.get("title") else ""
    console.print(f"session {found['id']}{title}: {found['state']}", markup=False)
    for message in found["messages"]:
        console.print(f"  {message['role']}: {message['text']}", markup=False)
    jobs = Table("job", "kind", "state", "created")
    for job in found["jobs"]["items"]:
        jobs.add_row(job["id"], job["kind"], job["state"], job["created_at"])
    if found["jobs"]["items"]:
        console.print(jobs)
    usage = found["usage"]
    console.print(
        f"{usage['jobs']} jobs, {usage['tokens']} tokens"
        f" ({usage['tokens_in']} in, {usage['tokens_out']} out), cost {usage['cost']}",
        markup=False,
    )


@session_app.command("end")
def end(session_id: str, as_json: JsonFlag = False) -> None:
    """End a session, freeing its slot in the tier's concurrent sessions."""
    try:
        with closing(client_from_settings()) as client:
            ended = client.end_session(session_id)
    except ApiError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json(ended)
        return
    console.print(f"session {ended['id']} ended", markup=False)


@session_app.command("list")
def list_sessions(
    state: Annotated[str | None, typer.Option(help="open or ended.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """List your sessions, newest first."""
    try:
        with closing(client_from_settings()) as client:
            page = client.sessions(state=state, limit=limit)
    except ApiError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json(page)
        return
    table = Table("id", "title", "state", "last active")
    for item in page["items"]:
        table.add_row(item["id"], item["title"] or "", item["state"], item["last_active_at"])
    console.print(table)
