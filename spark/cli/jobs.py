"""`spark submit` and `spark jobs list|show|cancel|wait`: the API from a terminal."""

from __future__ import annotations

import json
from contextlib import closing
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from spark.cli.output import console, emit_json, err_console, fail
from spark.client import ApiError, SparkClient
from spark.config import load_settings

jobs_app = typer.Typer(no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def client_from_settings() -> SparkClient:
    """A client for SPARK_API_URL with SPARK_API_KEY."""
    settings = load_settings()
    key = settings.api_key.get_secret_value() if settings.api_key else None
    if key is None:
        err_console.print("[yellow]SPARK_API_KEY is not set; the API will answer 401[/yellow]")
    return SparkClient(settings.api_url, key)


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """`k=v` gives a string, `k:=v` a JSON value (as httpie does)."""
    params: dict[str, Any] = {}
    for pair in pairs:
        if ":=" in pair and pair.index(":=") < pair.index("=") + 1:
            key, _, raw = pair.partition(":=")
            try:
                params[key] = json.loads(raw)
            except ValueError:
                raise typer.BadParameter(f"{key}: {raw!r} is not JSON") from None
        elif "=" in pair:
            key, _, value = pair.partition("=")
            params[key] = value
        else:
            raise typer.BadParameter(f"{pair!r}: expected key=value or key:=json")
    return params


#: the CLI's exit status per final job state
EXIT_CODES = {"succeeded": 0, "failed": 1, "canceled": 1, "timed_out": 1}


def wait_with_bar(client: SparkClient, job: Any, timeout: float, as_json: bool) -> Any:
    if as_json:
        return client.wait(job["id"], timeout=timeout)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
    )
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task(f"{job['kind']} {job['id'][:8]}", total=100, note=job["state"])

        def update(current: Any) -> None:
            note = current["progress"]["message"] or current["state"]
            bar.update(task, completed=current["progress"]["percent"], note=note)

        return client.wait(job["id"], on_update=update, timeout=timeout)


def _show(job: Any) -> None:
    color = {"succeeded": "green", "failed": "red", "canceled": "yellow"}.get(job["state"], "cyan")
    console.print(f"job [bold]{job['id']}[/bold] {job['kind']} [{color}]{job['state']}[/{color}]")
    if job.get("error"):
        console.print(f"  error {job['error']['code']}: {job['error']['message']}")
    result = job.get("result") or {}
    if "code" in result:
        console.print(f"  {result.get('path')} ({result.get('provider')}/{result.get('model')})")
        for diagnostic in result.get("diagnostics") or []:
            severity = diagnostic.get("severity") or "error"
            line = f"  {severity} (line {diagnostic.get('line')}): {diagnostic.get('message')}"
            console.print(line, style="yellow", markup=False, highlight=False, soft_wrap=True)
        console.print(result["code"], markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add `spark submit` to app."""

    @app.command("submit")
    def submit(
        kind: Annotated[str, typer.Argument(help="Job kind, e.g. generate_script.")],
        param: Annotated[
            list[str], typer.Option("--param", "-p", help="key=value or key:=json.")
        ] = [],  # noqa: B006
        session: Annotated[str | None, typer.Option(help="Session id for events.")] = None,
        project: Annotated[str | None, typer.Option(help="Project id.")] = None,
        priority: Annotated[int | None, typer.Option(help="0 (lowest) to 9.")] = None,
        idempotency_key: Annotated[str | None, typer.Option(help="Idempotency-Key header.")] = None,
        wait: Annotated[bool, typer.Option(help="Wait for the job, with a progress bar.")] = False,
        timeout: Annotated[float, typer.Option(help="Seconds to wait at most.")] = 600.0,
        as_json: JsonFlag = False,
    ) -> None:
        """Submit a job; with --wait, follow it to the end."""
        body: dict[str, Any] = {"kind": kind, "params": parse_params(param)}
        for key, value in (
            ("session_id", session),
            ("project_id", project),
            ("priority", priority),
        ):
            if value is not None:
                body[key] = value
        try:
            with closing(client_from_settings()) as client:
                job = client.submit(body, idempotency_key)
                if wait:
                    job = wait_with_bar(client, job, timeout, as_json)
        except ApiError as exc:
            fail(exc, as_json)
        emit_json(job) if as_json else _show(job)
        if wait:
            raise typer.Exit(EXIT_CODES.get(job["state"], 3))


@jobs_app.command("list")
def list_(
    kind: Annotated[str | None, typer.Option()] = None,
    state: Annotated[str | None, typer.Option()] = None,
    session: Annotated[str | None, typer.Option()] = None,
    project: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 20,
    cursor: Annotated[str | None, typer.Option()] = None,
    as_json: JsonFlag = False,
) -> None:
    """Your jobs, newest first."""
    try:
        with closing(client_from_settings()) as client:
            page = client.jobs(
                kind=kind,
                state=state,
                session_id=session,
                project_id=project,
                limit=limit,
                cursor=cursor,
            )
    except ApiError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json(page)
        return
    table = Table("id", "kind", "state", "progress", "created")
    for job in page["items"]:
        table.add_row(
            job["id"],
            job["kind"],
            job["state"],
            f"{job['progress']['percent']}%",
            job["created_at"],
        )
    console.print(table)
    if page["next_cursor"]:
        err_console.print(f"more: --cursor {page['next_cursor']}")


@jobs_app.command("show")
def show(job_id: str, as_json: JsonFlag = False) -> None:
    """One job."""
    try:
        with closing(client_from_settings()) as client:
            job = client.job(job_id)
    except ApiError as exc:
        fail(exc, as_json)
    emit_json(job) if as_json else _show(job)


@jobs_app.command("cancel")
def cancel(job_id: str, as_json: JsonFlag = False) -> None:
    """Cancel a queued or running job."""
    try:
        with closing(client_from_settings()) as client:
            job = client.cancel(job_id)
    except ApiError as exc:
        fail(exc, as_json)
    emit_json(job) if as_json else console.print(f"job {job_id}: {job['state']}")


@jobs_app.command("wait")
def wait(
    job_id: str,
    timeout: Annotated[float, typer.Option(help="Seconds to wait at most.")] = 600.0,
    as_json: JsonFlag = False,
) -> None:
    """Wait for a job to end, with a progress bar; exit 0 only if it succeeded."""
    try:
        with closing(client_from_settings()) as client:
            job = wait_with_bar(client, client.job(job_id), timeout, as_json)
    except ApiError as exc:
        fail(exc, as_json)
    emit_json(job) if as_json else _show(job)
    raise typer.Exit(EXIT_CODES.get(job["state"], 3))
