"""The compile check: the build runner's workspace, Library cache and supervised Unity run,
with an editor that imports and compiles the project and quits, building nothing."""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spark.domain.files import StoredFile
from spark.domain.projects import Project
from spark.domain.targets import BuildTarget
from spark.engines.unity.builds import (
    BuildEnvironment,
    Report,
    describe,
    exit_text,
    library_cached,
    logged,
    run_unity,
    synced,
    unity_executable,
)
from spark.engines.unity.library_cache import CacheKey
from spark.engines.unity.log_follower import LogFollower, message_dict
from spark.errors import JobFailure, JobTimedOut
from spark.storage.logs import LogWriter


@dataclass(frozen=True)
class CompileRequest:
    """One attempt at compiling a project for the job."""

    job_id: uuid.UUID
    attempt: int
    project: Project
    ref: str | None
    #: SPARK's files for the project, asked for once the workspace is synced and locked
    files: Callable[[], Iterable[StoredFile]]
    #: the editor's build target while it compiles (this builder's first declared one), which
    #: also picks the Library cache entry; None: the project's own, and no cache
    target: BuildTarget | None = None


def run_compile_check(
    request: CompileRequest, env: BuildEnvironment, report: Report
) -> dict[str, Any]:
    """Compile the project; the result, or JobFailure (compile_failed) with it attached."""
    unity = unity_executable(env.unity_path)
    with logged(env, request.job_id, request.attempt, "compile check") as log:
        project = request.project
        log.write(f"[spark] job {request.job_id}: compile check of {project.name!r}")
        with synced(project, request.ref, env, request.files, log) as (ws, laid):
            if request.target is None:
                return _compile(request, env, unity, log, report, ws.path, laid)
            key = CacheKey(project.id, request.target, env.unity_version)
            with library_cached(env, key, ws.path, log) as warmth:
                result = _compile(request, env, unity, log, report, ws.path, laid)
            return {**result, "library_cache": warmth}


def compile_command(
    unity: Path, workspace_path: Path, target: BuildTarget | None, job_id: uuid.UUID
) -> list[str]:
    """Unity's batch-mode command line that opens the project, compiles it and quits."""
    command = [
        *(str(unity), "-batchmode", "-nographics", "-quit", "-projectPath", str(workspace_path)),
        *(("-buildTarget", target.value) if target is not None else ()),
        *("-logFile", "-"),
    ]
    return [*command, "-sparkJobId", str(job_id)]


def _compile(
    request: CompileRequest,
    env: BuildEnvironment,
    unity: Path,
    log: LogWriter,
    report: Report,
    workspace_path: Path,
    laid: list[dict[str, Any]],
) -> dict[str, Any]:
    """Run the editor over the workspace; the result when it compiled cleanly."""
    command = compile_command(unity, workspace_path, request.target, request.job_id)
    log.write(f"[spark] {shlex.join(command)}")
    parser = LogFollower(log)
    timeout_s = env.default_timeout_s
    exit_code, timed_out, duration = run_unity(
        command, workspace_path, parser, env, timeout_s, report
    )
    log.write(f"[spark] Unity exited with code {exit_code} after {duration:.1f}s")
    # Exit 0 alone is not enough: an error CS line means a script did not compile.
    clean = not timed_out and exit_code == 0 and parser.counts["compiler"] == 0
    result = _result(parser, "succeeded" if clean else "failed", exit_code, duration, laid)
    if timed_out:
        message = f"the compile check ran past its {timeout_s:g}s limit and was stopped"
        raise JobTimedOut("time_limit_exceeded", message, result=result)
    report(*parser.progress)
    if not clean:
        raise _failure(parser, exit_code, result)
    return result


def _result(
    parser: LogFollower,
    outcome: str,
    exit_code: int | None,
    duration_s: float,
    laid: list[dict[str, Any]],
) -> dict[str, Any]:
    """The job result (CONTRACT §5) for the log the editor gave: its compiler errors (the
    editor's own summary lines stay in the log) and warnings."""
    return {
        "result": outcome,
        "exit_code": exit_code,
        "duration_s": round(duration_s, 3),
        "errors": [message_dict(message) for message in parser.errors if message.code],
        "warnings": [message_dict(message) for message in parser.warnings],
        "error_count": parser.counts["compiler"],
        "warning_count": parser.counts["warning"],
        "files": laid,
    }


def _failure(parser: LogFollower, exit_code: int | None, result: dict[str, Any]) -> JobFailure:
    """compile_failed naming the first compiler error; else how the editor ended."""
    if parser.counts["compiler"]:
        counted = {"error_count": parser.counts["compiler"], "exit_code": exit_code}
        first = next((m for m in parser.errors if m.code), parser.errors[0])
        return JobFailure("compile_failed", describe(first), counted, result=result)
    # No compiler error: the editor crashed or was stopped, as a build's failure reads.
    details: dict[str, Any] = {"exit_code": exit_code, "result": "failed"}
    return JobFailure("build_failed", exit_text(exit_code), details, result=result)
