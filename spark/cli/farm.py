"""`spark farm`: the live builders, what each builds and whether it is busy."""

from __future__ import annotations

from contextlib import closing

import typer
from rich.table import Table

from spark.cli.jobs import JsonFlag, client_from_settings
from spark.cli.output import console, emit_json, err_console, fail
from spark.client import ApiError


def register(app: typer.Typer) -> None:
    """Add `spark farm` to app."""

    @app.command("farm")
    def farm(as_json: JsonFlag = False) -> None:
        """The build farm: each live builder's host, OS, Unity, targets and state."""
        with closing(client_from_settings()) as client:
            try:
                found = client.farm()
            except ApiError as exc:
                fail(exc, as_json)
        if as_json:
            emit_json(found)
            return
        table = Table("host", "os", "unity", "targets", "state", "job", "last seen", "node")
        for b in found["builders"]:
            table.add_row(
                b["host"],
                b["os"],
                ", ".join(b["unity_versions"]) or "-",
                ", ".join(b["targets"]),
                b["state"],
                b.get("job_id", ""),
                b["last_seen"][:19].replace("T", " "),
                b["node"],
            )
        console.print(table)
        if found["targets_without_builder"]:
            missing = ", ".join(found["targets_without_builder"])
            err_console.print(f"no builder for: {missing}")
