"""`spark bench`: SPARK vs bare Celery throughput on Postgres + Redis (the `bench` package)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from spark.cli.output import err_console

#: the source checkout, where `bench/` lives beside `spark/` (it is not installed)
_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def _load_bench() -> Callable[[list[str] | None], int]:
    """bench.bench_jobs.main, from the path or the source checkout; exit 2 if it is not there."""
    try:
        from bench import bench_jobs
    except ModuleNotFoundError as exc:
        if exc.name not in ("bench", "bench.bench_jobs"):
            raise
        if not (_SOURCE_ROOT / "bench" / "bench_jobs.py").is_file():
            err_console.print(
                "[red]error[/red] the benchmark is not available: `spark bench` needs the "
                "`bench` package of a SPARK source checkout"
            )
            raise typer.Exit(2) from None
        sys.path.insert(0, str(_SOURCE_ROOT))
        from bench import bench_jobs
    return bench_jobs.main


def register(app: typer.Typer) -> None:
    """Add `spark bench` to app."""

    @app.command("bench")
    def bench(
        jobs: Annotated[
            int,
            typer.Option(min=1, help="End-to-end jobs N; bare Celery and submissions run 2*N."),
        ] = 1000,
        clients: Annotated[int, typer.Option(min=1, help="Concurrent HTTP clients.")] = 16,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """Benchmark SPARK against bare Celery (throwaway database, Redis db 12)."""
        run = _load_bench()
        argv = ["--jobs", str(jobs), "--clients", str(clients)]
        if as_json:
            argv.append("--json")
        raise typer.Exit(run(argv))
