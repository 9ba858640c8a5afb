"""`spark test`: a project's Unity tests on the build farm, and a table of what failed."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from spark.cli.builds import run_on_farm
from spark.cli.jobs import JsonFlag
from spark.cli.output import console


def _print_run(job: Any) -> None:
    """The run's state, its counts and a table of its failures with file:line."""
    color = {"succeeded": "green", "failed": "red", "timed_out": "red"}.get(job["state"], "yellow")
    console.print(f"tests [bold]{job['id']}[/bold] [{color}]{job['state']}[/{color}]")
    result = job.get("result") or {}
    if result:
        counts = ("total", "passed", "failed", "skipped", "inconclusive")
        console.print("  " + "  ".join(f"{name} {result.get(name, 0)}" for name in counts))
    if job.get("error"):
        console.print(f"  error {job['error']['code']}: {job['error']['message']}", markup=False)
    failures = result.get("failures") or []
    if failures:
        table = Table("test", "where", "message")
        for failure in failures:
            where = f"{failure['file']}:{failure['line']}" if failure.get("file") else ""
            table.add_row(failure["fullname"], where, failure["message"].strip())
        console.print(table)


def register(app: typer.Typer) -> None:
    """Add `spark test` to app."""

    @app.command("test")
    def test(
        project: Annotated[str, typer.Argument(help="Project id or name.")],
        platform: Annotated[
            str, typer.Option("--platform", "-p", help="EditMode or PlayMode.")
        ] = "EditMode",
        test_filter: Annotated[
            str | None, typer.Option("--filter", help="Full test names (;-list) or a regex.")
        ] = None,
        category: Annotated[
            list[str], typer.Option(help="Only tests in this category (repeatable).")
        ] = [],  # noqa: B006
        ref: Annotated[str | None, typer.Option(help="Git branch, tag or commit.")] = None,
        follow: Annotated[bool, typer.Option(help="Show progress and the log.")] = False,
        timeout: Annotated[float, typer.Option(help="Seconds to follow at most.")] = 4 * 3600,
        as_json: JsonFlag = False,
    ) -> None:
        """Run a project's Unity tests; with --follow, watch them to the end."""
        params: dict[str, Any] = {"platform": platform, "categories": category}
        if test_filter is not None:
            params["filter"] = test_filter
        if ref is not None:
            params["ref"] = ref
        run_on_farm("run_tests", project, params, _print_run, follow, False, timeout, as_json)
