"""`spark session new|say|show|end|list`: sessions from a terminal."""

from __future__ import annotations

from contextlib import closing
from typing import Annotated, Any

import typer
from rich.table import Table

from spark.cli.jobs import JsonFlag, client_from_settings, wait_with_bar
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


@session_app.command("say")
def say(
    session_id: str,
    text: Annotated[str, typer.Argument(help="What you want, in plain words.")],
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Follow the turn until SPARK answers.")
    ] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to follow the turn at most.")] = 900,
    as_json: JsonFlag = False,
) -> None:
    """Say something in a session: SPARK plans and runs the jobs it needs, then answers."""
    steps: list[Any] = []
    try:
        with closing(client_from_settings()) as client:
            turn = client.say(session_id, text)
            if wait:
                turn = wait_with_bar(client, turn, timeout, as_json)
                steps = client.jobs(parent_id=turn["id"], limit=100)["items"]
    except ApiError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json(turn)
        return
    if not wait:
        console.print(turn["id"], markup=False)
        return
    _print_turn(turn, steps)
    if turn["state"] != "succeeded":
        raise typer.Exit(1)


def _print_turn(turn: Any, steps: list[Any]) -> None:
    """Each call of the turn (its job's state, or why it was refused), then the answer."""
    states = {step["id"]: step["state"] for step in steps}
    result = turn.get("result") or {}
    for call in result.get("calls", []):
        if call.get("job_id"):
            line = f"  {call['tool']}: job {call['job_id']} {states.get(call['job_id'], '')}"
        else:
            line = f"  {call['tool']}: {call['status']} ({call.get('reason') or ''})"
        console.print(line, markup=False)
    if turn.get("error"):
        console.print(f"error {turn['error']['code']}: {turn['error']['message']}", markup=False)
    if result.get("text"):
        console.print(result["text"], markup=False, soft_wrap=True)


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
