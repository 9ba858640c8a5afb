"""`spark build`, `spark jobs logs` and `spark projects`: the build farm from a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from spark.cli.jobs import EXIT_CODES, JsonFlag, client_from_settings, jobs_app
from spark.cli.output import console, emit_json, err_console, fail
from spark.client import ApiError, SparkClient

projects_app = typer.Typer(no_args_is_help=True)

#: how often a follower asks for new log lines and progress
POLL_S = 0.5


def _follow(client: SparkClient, job: Any, compact: bool, timeout: float) -> Any:
    """Print the log as it grows under a progress bar; returns the finished job."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
    )
    deadline = time.monotonic() + timeout
    offset = 0
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task(f"{job['kind']} {job['id'][:8]}", total=100, note=job["state"])
        while True:
            chunk = client.log(job["id"], offset, compact)
            for line in chunk.lines:
                bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
            offset = chunk.read_on_from(offset)
            if chunk.more:
                continue
            job = client.job(job["id"])
            note = job["progress"]["message"] or job["state"]
            bar.update(task, completed=job["progress"]["percent"], note=note[:60])
            # The log is complete once the job has ended and the last read came after that.
            if chunk.complete or time.monotonic() > deadline:
                return job
            time.sleep(POLL_S)


def _print_build(job: Any) -> None:
    color = {"succeeded": "green", "failed": "red", "timed_out": "red"}.get(job["state"], "yellow")
    console.print(f"build [bold]{job['id']}[/bold] [{color}]{job['state']}[/{color}]")
    if job.get("error"):
        console.print(f"  error {job['error']['code']}: {job['error']['message']}")
    result = job.get("result") or {}
    for error in result.get("errors", [])[:20]:
        where = f"{error.get('file')}({error.get('line')},{error.get('column')})"
        console.print(f"  {where}: {error.get('code')} {error.get('message')}", markup=False)
    for artifact in result.get("artifacts", []):
        href = f"/v1/jobs/{job['id']}/artifacts/{artifact['name']}"
        console.print(f"  artifact {artifact['name']} {artifact['size']} bytes  {href}")


def register(app: typer.Typer) -> None:
    """Add `spark build` to app."""

    @app.command("build")
    def build(
        project: Annotated[str, typer.Argument(help="Project id or name.")],
        target: Annotated[str, typer.Option("--target", "-t", help="Unity build target.")],
        development: Annotated[bool, typer.Option(help="Development build.")] = False,
        ref: Annotated[str | None, typer.Option(help="Git branch, tag or commit.")] = None,
        build_timeout: Annotated[
            int | None, typer.Option("--build-timeout", help="Stop the build after N seconds.")
        ] = None,
        follow: Annotated[bool, typer.Option(help="Show progress and the log.")] = False,
        compact: Annotated[bool, typer.Option(help="With --follow: errors only.")] = False,
        timeout: Annotated[float, typer.Option(help="Seconds to follow at most.")] = 4 * 3600,
        as_json: JsonFlag = False,
    ) -> None:
        """Build a project for a target; with --follow, watch it to the end."""
        params: dict[str, Any] = {"target": target, "development": development}
        if ref is not None:
            params["ref"] = ref
        if build_timeout is not None:
            params["timeout_s"] = build_timeout
        run_on_farm("unity_build", project, params, _print_build, follow, compact, timeout, as_json)


def run_on_farm(
    kind: str,
    project: str,
    params: dict[str, Any],
    show: Callable[[Any], None],
    follow: bool,
    compact: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Submit a farm job for the project (id or name) and print it with show (or as JSON);
    with follow, watch it to the end and exit as `spark jobs wait` does."""
    try:
        with closing(client_from_settings()) as client:
            found = client.find_project(project)
            job = client.submit({"kind": kind, "project_id": found["id"], "params": params})
            if follow:
                job = (
                    client.wait(job["id"], timeout=timeout)
                    if as_json
                    else _follow(client, job, compact, timeout)
                )
    except ApiError as exc:
        fail(exc, as_json)
    emit_json(job) if as_json else show(job)
    if follow:
        raise typer.Exit(EXIT_CODES.get(job["state"], 3))


@jobs_app.command("logs")
def logs(
    job_id: str,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Print new lines.")] = False,
    compact: Annotated[bool, typer.Option(help="Errors and warnings only.")] = False,
    offset: Annotated[int, typer.Option(help="Start at this line.")] = 0,
) -> None:
    """Print a job's log; with --follow, until the job ends."""
    try:
        with closing(client_from_settings()) as client:
            while True:
                chunk = client.log(job_id, offset, compact)
                for line in chunk.lines:
                    console.print(line, markup=False, highlight=False, soft_wrap=True)
                offset = chunk.read_on_from(offset)
                if chunk.more:
                    continue
                if not follow or chunk.complete:
                    return
                time.sleep(POLL_S)
    except ApiError as exc:
        fail(exc, False)


@projects_app.command("create")
def create(
    name: str,
    source_dir: Annotated[
        Path | None, typer.Option("--dir", help="A directory build workers can read.")
    ] = None,
    git_url: Annotated[str | None, typer.Option("--git", help="A git URL.")] = None,
    ref: Annotated[str | None, typer.Option(help="Default git ref.")] = None,
    webhook: Annotated[
        list[str], typer.Option(help="URL told when a build ends (repeatable).")
    ] = [],  # noqa: B006
    unity_mcp_url: Annotated[
        str | None, typer.Option("--unity-mcp-url", help="The project's unity-mcp server.")
    ] = None,
    unity_instance: Annotated[
        str | None,
        typer.Option(help="The Unity instance (Name@hash) on that server for this project."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a project (a directory or a git repository)."""
    body: dict[str, Any] = {"name": name, "webhooks": [{"url": url} for url in webhook]}
    if source_dir is not None:
        body["source_dir"] = str(source_dir.resolve())
    if git_url is not None:
        body["git_url"] = git_url
    if ref is not None:
        body["default_ref"] = ref
    if unity_mcp_url is not None:
        body["unity_mcp_url"] = unity_mcp_url
    if unity_instance is not None:
        body["unity_instance"] = unity_instance
    try:
        with closing(client_from_settings()) as client:
            project = client.create_project(body)
    except ApiError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json(project)
        return
    console.print(f"project [bold]{project['name']}[/bold] {project['id']}")
    for hook in project.get("webhooks", []):
        # Shown once: SPARK never returns a webhook's secret again.
        console.print(f"  webhook {hook['url']} secret {hook.get('secret')}", markup=False)


@projects_app.command("list")
def list_projects(as_json: JsonFlag = False) -> None:
    """List your projects."""
    try:
        with closing(client_from_settings()) as client:
            page = client.projects()
    except ApiError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json(page)
        return
    table = Table("id", "name", "source", "created")
    for item in page["items"]:
        source = item["source"].get("dir") or item["source"].get("git_url") or ""
        table.add_row(item["id"], item["name"], source, item["created_at"])
    console.print(table)
