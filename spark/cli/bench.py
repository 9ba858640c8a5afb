"""`spark bench`: SPARK's throughput against its raw building blocks (the checkout's bench/).

By default SPARK's hot paths (poll, submit, end to end) vs a thin Starlette + send_task front,
under wrk (bench.bench_jobs); with --events, SPARK's event path vs raw nats-py and psycopg
(bench.bench_events); with --llm, a generate_script job vs a bare openai
SDK call against an instant fake LLM (bench.bench_llm);
with --builds, a unity_build job's scheduling overhead vs bare Celery running the same Unity
stand-in (bench.bench_builds); with --security, one route with the security layer on and off
(bench.bench_security); with --files, apply_patch jobs against generate_script and a file's
content read against a job's (bench.bench_files); with --previews, a cache-hit render_preview
against generate_script and the editor bridge's overhead (bench.bench_previews); with --verify,
SPARK's overhead around a verify chain (an apply_patch with a compile and a test step) vs a bare
Celery chain running the same Unity stand-in (bench.bench_verify); with --mcp, `get_job` through
MCP against `GET /v1/jobs/{id}` on the same API process under wrk (bench.bench_mcp).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

import spark
from spark.cli.output import err_console

#: why `spark bench` cannot run without a source checkout
_NO_CHECKOUT = (
    "[red]error[/red] the benchmark is not available: `spark bench` runs the `bench` folder of "
    "a SPARK source checkout (installed with `pip install -e .`), and this installation has none"
)


def checkout_root() -> Path | None:
    """The source checkout SPARK runs from (the folder holding spark/ and bench/), if any."""
    root = Path(spark.__file__).resolve().parent.parent
    found = (root / "bench" / "__init__.py").is_file() and (root / "pyproject.toml").is_file()
    return root if found else None


@contextmanager
def _on_path(root: Path) -> Iterator[None]:
    """root first on sys.path while the benchmark imports and runs; as it was afterwards."""
    entry = str(root)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        sys.path.remove(entry)


def _load_bench(module: str = "bench_jobs") -> Callable[[list[str] | None], int]:
    """bench.<module>.main from the checkout; exit 2 where there is none (an installed image).

    bench is not an installed package (another application's `import bench` must not find
    it), so the checkout goes on sys.path only while this command imports and runs it.
    """
    root = checkout_root()
    if root is None:
        err_console.print(_NO_CHECKOUT)
        raise typer.Exit(2)
    name = f"bench.{module}"
    try:
        with _on_path(root):
            loaded = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name not in ("bench", name):
            raise
        err_console.print(_NO_CHECKOUT)
        raise typer.Exit(2) from None
    if not Path(loaded.__file__ or "").resolve().is_relative_to(root):
        err_console.print(f"[red]error[/red] another package named bench is loaded: {loaded}")
        raise typer.Exit(2)
    main: Callable[[list[str] | None], int] = loaded.main

    def run(argv: list[str] | None) -> int:
        with _on_path(root):
            return main(argv)

    return run


def _argv(
    events: bool,
    event_count: int,
    jobs: int | None,
    clients: int | None,
    as_json: bool,
    llm: bool = False,
    builds: bool = False,
    security: bool = False,
    files: bool = False,
    previews: bool = False,
    seconds: float = 10.0,
    verify: bool = False,
    mcp: bool = False,
) -> list[str]:
    """The benchmark module's command line; refuses --jobs below its minimum."""
    picked = {"--llm": llm, "--builds": builds, "--security": security, "--files": files}
    picked |= {"--previews": previews, "--verify": verify}
    if events + mcp + sum(picked.values()) > 1:
        hint = "--mcp" if mcp else next(flag for flag, on in reversed(picked.items()) if on)
        raise typer.BadParameter(
            "choose one of --events, --llm, --builds, --security, --files, --previews, --verify "
            "and --mcp",
            param_hint=hint,
        )
    if any(picked.values()):
        if jobs is not None and jobs < 1:
            raise typer.BadParameter("must be at least 1", param_hint="--jobs")
        chosen = next(flag for flag, on in picked.items() if on)
        flag, default = {
            "--builds": ("--builds", 40),
            "--llm": ("--jobs", 300),
            "--security": ("--requests", 3000),
            "--files": ("--jobs", 500),
            "--previews": ("--jobs", 200),
            "--verify": ("--chains", 30),
        }[chosen]
        argv = [flag, str(default if jobs is None else jobs)]
        return [*argv, "--json"] if as_json else argv
    if not events:
        # the hot paths and MCP's get_job run for a time under wrk, not for a count of jobs
        if jobs is not None:
            which = "MCP" if mcp else "hot-path"
            raise typer.BadParameter(
                f"the {which} benchmark runs for --seconds", param_hint="--jobs"
            )
        argv = ["--seconds", f"{seconds:g}", "--connections", str(clients or 32)]
        return [*argv, "--json"] if as_json else argv
    if jobs is not None and jobs < 0:
        raise typer.BadParameter("must be at least 0 with --events", param_hint="--jobs")
    argv = ["--events", str(event_count)]
    if jobs is not None:
        argv += ["--jobs", str(jobs)]
    argv += ["--clients", str(clients or 16)]
    return [*argv, "--json"] if as_json else argv


# The options as types, so the command's signature reads as a list of them.
JobsOption = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        help="Not for the hot paths or --mcp (they run for --seconds). "
        "With --events: jobs in its end-to-end phase (default 500); 0 skips it. "
        "With --llm: SDK calls, and jobs per phase (default 300). "
        "With --builds: builds per phase (default 40). "
        "With --security: requests per way in (default 3000). "
        "With --files: jobs per kind and GETs per route (default 500). "
        "With --verify: verify chains per phase (default 30).",
    ),
]
ClientsOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Concurrent HTTP connections (default 32 for the hot paths and --mcp, 16 with "
        "--events; not used by the others).",
    ),
]
SecondsOption = Annotated[
    float,
    typer.Option(min=1, help="Hot paths and --mcp: seconds of wrk load per side and phase."),
]
EventsFlag = Annotated[
    bool,
    typer.Option(
        "--events", help="Benchmark the event path (NATS publisher and consumer) instead of jobs."
    ),
]
EventCountOption = Annotated[int, typer.Option(min=1, help="With --events: events per phase.")]
LlmFlag = Annotated[
    bool, typer.Option("--llm", help="Benchmark a job against a bare LLM SDK call.")
]
BuildsFlag = Annotated[
    bool,
    typer.Option(
        "--builds", help="Benchmark a Unity build's scheduling overhead against bare Celery."
    ),
]
SecurityFlag = Annotated[
    bool,
    typer.Option("--security", help="Benchmark the security layer: one route with it on and off."),
]
FilesFlag = Annotated[
    bool,
    typer.Option(
        "--files", help="Benchmark apply_patch against generate_script, file reads against jobs."
    ),
]
PreviewsFlag = Annotated[
    bool,
    typer.Option(
        "--previews",
        help="Benchmark a cache-hit render_preview against generate_script, and the editor "
        "bridge's overhead around the editor's screenshot time.",
    ),
]
VerifyFlag = Annotated[
    bool,
    typer.Option(
        "--verify",
        help="Benchmark SPARK's overhead around a verify chain (apply_patch, compile, tests) "
        "against a bare Celery chain running the same Unity stand-in.",
    ),
]
McpFlag = Annotated[
    bool,
    typer.Option(
        "--mcp",
        help="Benchmark get_job through MCP against GET /v1/jobs/{id} on the same API process.",
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def bench(
    jobs: JobsOption = None,
    clients: ClientsOption = None,
    seconds: SecondsOption = 10.0,
    events: EventsFlag = False,
    event_count: EventCountOption = 20_000,
    llm: LlmFlag = False,
    builds: BuildsFlag = False,
    security: SecurityFlag = False,
    files: FilesFlag = False,
    previews: PreviewsFlag = False,
    verify: VerifyFlag = False,
    mcp: McpFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Benchmark SPARK's hot paths (poll, submit, end to end) against a thin Starlette +
    send_task front under wrk, with --events its event path against raw
    nats-py and psycopg, with --llm its generate_script job against a bare openai SDK
    call, with --builds a unity_build's scheduling overhead against bare Celery running
    the same Unity stand-in, or with --security one route with the security layer on and
    off, or with --files apply_patch jobs against generate_script and a file's content read
    against a job's, or with --previews a cache-hit render_preview against generate_script
    and the editor bridge's overhead, or with --verify SPARK's overhead around a verify chain
    against a bare Celery chain, or with --mcp get_job through MCP against GET /v1/jobs/{id}
    (on servers of its own: PostgreSQL, Valkey and NATS
    started for the run; a fake LLM or unity-mcp's server with a stand-in editor). Needs a
    source checkout: the benchmarks are its bench/ folder, not an installed package."""
    argv = _argv(
        events,
        event_count,
        jobs,
        clients,
        as_json,
        llm,
        builds,
        security,
        files,
        previews,
        seconds,
        verify,
        mcp,
    )
    chosen = {
        "bench_mcp": mcp,
        "bench_verify": verify,
        "bench_previews": previews,
        "bench_files": files,
        "bench_builds": builds,
        "bench_llm": llm,
        "bench_events": events,
        "bench_security": security,
    }
    run = _load_bench(next((name for name, on in chosen.items() if on), "bench_jobs"))
    raise typer.Exit(run(argv))


def register(app: typer.Typer) -> None:
    """Add `spark bench` to app."""
    app.command("bench")(bench)
