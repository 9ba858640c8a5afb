"""`spark patch`: edit one project file with an apply_patch job."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from spark.cli.jobs import EXIT_CODES, JsonFlag, client_from_settings, wait_with_bar
from spark.cli.output import console, emit_json, err_console, fail
from spark.client import ApiError

Pair = tuple[str, str] | None
_SOURCE_HELP = "(a file, or - for stdin)"


def _read(source: Path) -> str:
    return sys.stdin.read() if str(source) == "-" else source.read_text(encoding="utf-8")


def patch_params(
    replace: tuple[str, str] | None,
    insert_before: tuple[str, str] | None,
    insert_after: tuple[str, str] | None,
    diff: Path | None,
    full: Path | None,
) -> dict[str, Any]:
    """The patch's params from exactly one of the patch options."""
    chosen = [
        (name, value)
        for name, value in (
            ("replace", replace),
            ("insert_before", insert_before),
            ("insert_after", insert_after),
            ("unified_diff", diff),
            ("full", full),
        )
        if value is not None
    ]
    if len(chosen) != 1:
        raise typer.BadParameter(
            "give exactly one of --replace, --insert-before, --insert-after, --diff, --full"
        )
    name, value = chosen[0]
    if isinstance(value, Path):
        field = "diff" if name == "unified_diff" else "content"
        return {"patch_type": name, field: _read(value)}
    first = "old" if name == "replace" else "anchor"
    return {"patch_type": name, first: value[0], "new": value[1]}


def _show(job: Any) -> None:
    result = job.get("result") or {}
    if job["state"] != "succeeded" or "version" not in result:
        color = "cyan" if job["state"] in ("queued", "running") else "red"
        console.print(f"job [bold]{job['id']}[/bold] [{color}]{job['state']}[/{color}]")
        if job.get("error"):
            console.print(f"  error {job['error']['code']}: {job['error']['message']}")
        return
    console.print(
        f"[green]{result['path']}[/green] version {result['version']} ({result['sha256'][:12]})"
    )
    console.print(result["diff"], markup=False, highlight=False, soft_wrap=True, end="")


def register(app: typer.Typer) -> None:
    """Add `spark patch` to app."""

    @app.command("patch")
    def patch(
        project: Annotated[str, typer.Argument(help="Project id or name.")],
        path: Annotated[str, typer.Argument(help="The file, e.g. Assets/Scripts/Coin.cs.")],
        replace: Annotated[
            Pair, typer.Option(metavar="OLD NEW", help="Replace OLD (found once) by NEW.")
        ] = None,
        insert_before: Annotated[
            Pair, typer.Option(metavar="ANCHOR NEW", help="Insert NEW just before ANCHOR.")
        ] = None,
        insert_after: Annotated[
            Pair, typer.Option(metavar="ANCHOR NEW", help="Insert NEW just after ANCHOR.")
        ] = None,
        diff: Annotated[
            Path | None,
            typer.Option(metavar="FILE", help=f"Apply a unified diff, strictly {_SOURCE_HELP}."),
        ] = None,
        full: Annotated[
            Path | None,
            typer.Option(metavar="FILE", help=f"Write the whole file {_SOURCE_HELP}."),
        ] = None,
        base_version: Annotated[
            int | None, typer.Option(help="Only if the file is still at version N.")
        ] = None,
        validate: Annotated[
            bool, typer.Option(help="Check a .cs file's C# syntax before writing.")
        ] = True,
        wait: Annotated[bool, typer.Option(help="Wait for the job, with a progress bar.")] = False,
        timeout: Annotated[float, typer.Option(help="Seconds to wait at most.")] = 120.0,
        as_json: JsonFlag = False,
    ) -> None:
        """Edit one project file: replace, insert, apply a unified diff, or write it whole."""
        params = {"path": path, **patch_params(replace, insert_before, insert_after, diff, full)}
        if base_version is not None:
            params["base_version"] = base_version
        if not validate:
            params["validate"] = False
        client = client_from_settings()
        try:
            found = client.find_project(project)
            body = {"kind": "apply_patch", "project_id": found["id"], "params": params}
            job = client.submit(body)
            if wait:
                job = wait_with_bar(client, job, timeout, as_json)
        except ApiError as exc:
            fail(exc, as_json)
        emit_json(job) if as_json else _show(job)
        if not wait and not as_json:
            err_console.print(f"follow it with: spark jobs wait {job['id']}")
        if wait:
            raise typer.Exit(EXIT_CODES.get(job["state"], 3))
