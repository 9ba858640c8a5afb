"""`spark usage`: your tokens, jobs and cost this month, or (an admin key's) every user's
tokens and cost in a month."""

from __future__ import annotations

from contextlib import closing
from typing import Annotated, Any

import typer
from rich.table import Table

from spark.cli.jobs import JsonFlag, client_from_settings
from spark.cli.output import console, emit_json, fail
from spark.client import ApiError


def register(app: typer.Typer) -> None:
    """Add `spark usage` to app."""

    @app.command("usage")
    def usage(
        by_user: Annotated[
            bool, typer.Option("--by-user", help="Every user's tokens and cost (spark:admin).")
        ] = False,
        month: Annotated[
            str | None, typer.Option(help="The month (YYYY-MM, UTC) for --by-user; default now.")
        ] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Your tier's limits and this month's tokens, jobs and cost; --by-user: everyone's."""
        if month is not None and not by_user:
            raise typer.BadParameter("--month goes with --by-user", param_hint="--month")
        with closing(client_from_settings()) as client:
            try:
                found = client.admin_usage(month) if by_user else client.usage()
            except ApiError as exc:
                fail(exc, as_json)
        if as_json:
            emit_json(found)
        elif by_user:
            _print_by_user(found)
        else:
            _print_own(found)


def _print_own(found: Any) -> None:
    month, limits = found["month"], found["limits"]
    table = Table("user", "tier", "month", "tokens", "jobs", "cost", "requests today")
    tokens = f"{month['tokens']} of {limits.get('tokens_per_month', '-')}"
    table.add_row(
        found["user"],
        found["tier"],
        month["period"],
        tokens,
        str(month["jobs"]),
        f"{month.get('cost', 0.0):.4f}",
        str(found["day"]["requests"]),
    )
    console.print(table)


def _print_by_user(found: Any) -> None:
    table = Table("user", "calls", "tokens in", "tokens out", "cost", title=found["period"])
    for row in found["users"]:
        table.add_row(
            row["user"],
            str(row["calls"]),
            str(row["tokens_in"]),
            str(row["tokens_out"]),
            f"{row['cost']:.4f}",
        )
    total = ("total", "", str(found["tokens_in"]), str(found["tokens_out"]))
    table.add_row(*total, f"{found['cost']:.4f}")
    console.print(table)
