"""`spark patch`: edit one project file with an apply_patch job, optionally verified on the
farm (compile, tests, build) by child jobs the CLI shows as they end."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from spark.cli.jobs import EXIT_CODES, JsonFlag, client_from_settings, wait_with_bar
from spark.cli.output import console, emit_json, err_console, fail
from spark.client import TERMINAL, ApiError, SparkClient
from spark.domain.targets import BuildTarget

Pair = tuple[str, str] | None
_SOURCE_HELP = "(a file, or - for stdin)"
VERIFY_USAGE = "compile,tests[=EditMode|PlayMode],build=TARGET,keep"
_PLATFORMS = ("EditMode", "PlayMode")
#: how long --wait follows at most: a write alone is quick, a verified one waits for the farm
_WAIT_S = 120.0
_VERIFIED_WAIT_S = 4 * 3600.0


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


def _named(value: str, choices: tuple[str, ...], what: str) -> str:
    """value as choices spell it (any case), or a usage error listing them."""
    for choice in choices:
        if value.casefold() == choice.casefold():
            return choice
    raise typer.BadParameter(
        f"unknown {what} {value!r}; one of {', '.join(choices)}", param_hint="--verify"
    )


def _verify_word(verify: dict[str, Any], name: str, has_value: bool, value: str) -> None:
    """Set the verify field one --verify word names, or raise a usage error."""
    if name in ("compile", "keep"):
        if has_value:
            raise typer.BadParameter(f"{name} takes no value", param_hint="--verify")
        verify["compile" if name == "compile" else "keep_on_failure"] = True
    elif name == "tests":
        verify["tests"] = _named(value, _PLATFORMS, "test platform") if has_value else "EditMode"
    elif name == "build":
        if not value:
            raise typer.BadParameter(
                "build needs a target, e.g. build=WebGL", param_hint="--verify"
            )
        verify["build"] = _named(value, tuple(BuildTarget), "build target")
    else:
        raise typer.BadParameter(
            f"unknown step {name!r}; expected {VERIFY_USAGE}", param_hint="--verify"
        )


def verify_params(spec: str) -> dict[str, Any]:
    """The verify param from --verify's comma-separated words (VERIFY_USAGE): each step at
    most once, and at least one of compile, tests and build."""
    verify: dict[str, Any] = {
        "compile": False,
        "tests": None,
        "build": None,
        "keep_on_failure": False,
    }
    seen: set[str] = set()
    for word in spec.split(","):
        name, has_value, value = (part.strip() for part in word.partition("="))
        if not name:
            raise typer.BadParameter(f"an empty step in {spec!r}", param_hint="--verify")
        if name in seen:
            raise typer.BadParameter(f"{name} given twice", param_hint="--verify")
        seen.add(name)
        _verify_word(verify, name, bool(has_value), value)
    if not (verify["compile"] or verify["tests"] or verify["build"]):
        raise typer.BadParameter(
            "nothing to verify: name compile, tests or build", param_hint="--verify"
        )
    return verify


def _steps(client: SparkClient, job_id: str) -> list[Any]:
    """The job's child jobs (its verify steps), oldest first."""
    page = client.jobs(parent_id=job_id, limit=100)
    return sorted(page["items"], key=lambda step: step["created_at"])


def _print_step(step: Any) -> None:
    color = {"succeeded": "green", "canceled": "yellow"}.get(step["state"], "red")
    line = f"  {step['kind']} {step['id']} [{color}]{step['state']}[/{color}]"
    if step.get("error"):
        line += f"  {step['error']['code']}: {escape(step['error']['message'])}"
    console.print(line)


def follow_verified(client: SparkClient, job: Any, timeout: float) -> Any:
    """Wait for a verified job to end, printing each step (child job) as it ends; returns
    the job as last seen. Steps are read after the job, so every step that ended before the
    job did is printed before it returns."""
    deadline = time.monotonic() + timeout
    printed: set[str] = set()
    interval = 0.1
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(f"{job['kind']} {job['id'][:8]} {job['state']}")
        while True:
            job = client.job(job["id"])
            running = job["kind"]
            for step in _steps(client, job["id"]):
                if step["state"] not in TERMINAL:
                    running = step["kind"]
                elif step["id"] not in printed:
                    printed.add(step["id"])
                    _print_step(step)
            if job["state"] in TERMINAL or time.monotonic() > deadline:
                return job
            bar.update(task, description=f"{running} {job['state']}")
            time.sleep(interval)
            interval = min(interval * 1.5, 1.0)


def _show_verification(verification: Any) -> None:
    """The steps' outcomes, and what a failed verification put back."""
    steps = [
        f"{name} {step['state']}"
        for name in ("compile", "tests", "build")
        if (step := verification.get(name)) is not None
    ]
    failed = verification.get("failed_step")
    summary = f"failed at {failed}" if failed else "passed"
    console.print(f"  verification {summary}: {', '.join(steps) or 'no step ran'}")
    for restored in verification.get("rolled_back") or []:
        if restored.get("deleted"):
            what = f"removed {restored['path']} (the job created it)"
        elif restored.get("version") is not None:
            what = f"put back {restored['path']} as version {restored['version']}"
        else:
            what = f"could not put back {restored['path']}: {restored.get('reason')}"
        console.print(f"  {what}", markup=False)


def _show(job: Any) -> None:
    result = job.get("result") or {}
    if job["state"] != "succeeded" or "version" not in result:
        color = "cyan" if job["state"] in ("queued", "running") else "red"
        console.print(f"job [bold]{job['id']}[/bold] [{color}]{job['state']}[/{color}]")
        if job.get("error"):
            console.print(f"  error {job['error']['code']}: {escape(job['error']['message'])}")
    else:
        console.print(
            f"[green]{result['path']}[/green] version {result['version']} ({result['sha256'][:12]})"
        )
        console.print(result["diff"], markup=False, highlight=False, soft_wrap=True, end="")
    if result.get("verification"):
        _show_verification(result["verification"])


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
        verify: Annotated[
            str | None,
            typer.Option(
                metavar="STEPS",
                help=f"After writing, check the project on the farm; STEPS is {VERIFY_USAGE}: "
                "compile it, run its tests (EditMode unless named), build it for TARGET, and "
                "keep the write even if a step fails. Each step is a child job; --wait shows "
                "each as it ends.",
            ),
        ] = None,
        wait: Annotated[
            bool,
            typer.Option("--wait", "--follow", help="Wait for the job, with a progress bar."),
        ] = False,
        timeout: Annotated[
            float | None,
            typer.Option(help="Seconds to wait at most (120; 4 hours with --verify)."),
        ] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Edit one project file: replace, insert, apply a unified diff, or write it whole."""
        # --verify first: a usage error should not wait for a patch on stdin
        checks = None if verify is None else verify_params(verify)
        params = {"path": path, **patch_params(replace, insert_before, insert_after, diff, full)}
        if base_version is not None:
            params["base_version"] = base_version
        if not validate:
            params["validate"] = False
        if checks is not None:
            params["verify"] = checks
        if timeout is None:
            timeout = _WAIT_S if verify is None else _VERIFIED_WAIT_S
        client = client_from_settings()
        try:
            found = client.find_project(project)
            body = {"kind": "apply_patch", "project_id": found["id"], "params": params}
            job = client.submit(body)
            if wait and verify is not None and not as_json:
                job = follow_verified(client, job, timeout)
            elif wait:
                job = wait_with_bar(client, job, timeout, as_json)
        except ApiError as exc:
            fail(exc, as_json)
        finally:
            client.close()
        emit_json(job) if as_json else _show(job)
        if not wait and not as_json:
            err_console.print(f"follow it with: spark jobs wait {job['id']}")
        if wait:
            raise typer.Exit(EXIT_CODES.get(job["state"], 3))
