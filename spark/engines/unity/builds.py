"""The Unity build runner: a synced workspace, Unity in batch mode running SPARK's build
method with its log streamed and parsed, the whole process tree stopped, the player stored.

The workspace, the Library cache, the supervised Unity run and the log parsing serve the
compile check (spark/engines/unity/compile.py) as well."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spark.contracts.build_params import BuildTarget, UnityBuildParams
from spark.domain.files import StoredFile
from spark.domain.projects import Project
from spark.domain.secrets import AndroidSigning
from spark.engines.unity import overlay, player, signing, unity_process, workspace
from spark.engines.unity.build_log import BuildMessage, BuildResult
from spark.engines.unity.editor_script import BUILD_METHOD, BUILDER_CS, PROJECT_PATH
from spark.engines.unity.library_cache import CacheKey, LibraryCache
from spark.engines.unity.log_follower import LogFollower as LogFollower
from spark.engines.unity.log_follower import message_dict as message_dict
from spark.errors import JobFailure, JobTimedOut
from spark.storage.artifacts import ArtifactStorage
from spark.storage.logs import LogStorage, LogWriter

_EXIT_CANCELED = 102


def _no_files() -> Iterable[StoredFile]:
    return ()


@dataclass(frozen=True)
class BuildRequest:
    """One attempt at building a project for the job."""

    job_id: uuid.UUID
    attempt: int
    project: Project
    params: UnityBuildParams
    #: SPARK's files for the project, asked for once the workspace is synced and locked, so
    #: a build that waited for another build of the project still gets the newest versions
    files: Callable[[], Iterable[StoredFile]] = _no_files
    #: the project's Android signing secret, opened on the builder; never in a repr or log
    signing: AndroidSigning | None = field(default=None, repr=False)


@dataclass(frozen=True)
class BuildEnvironment:
    """What a build worker provides: Unity, a workspace root, storage and its limits."""

    unity_path: Path | None
    workspace_root: Path
    artifacts: ArtifactStorage
    logs: LogStorage
    default_timeout_s: float
    kill_grace_s: float = 10.0
    poll_interval_s: float = 0.25
    #: SPARK_SOURCE_ROOTS: where a project's directory may lie (None: nowhere)
    source_roots: tuple[Path, ...] | None = None
    #: this builder's Library/ cache, and the editor version that keys it
    library_cache: LibraryCache | None = None
    unity_version: str = "unknown"


Report = Callable[[int, str], None]


def run_build(request: BuildRequest, env: BuildEnvironment, report: Report) -> dict[str, Any]:
    """Build the project and store the player; the result, or JobFailure with it attached."""
    unity = unity_executable(env.unity_path)
    with logged(env, request.job_id, request.attempt) as log:
        return _build(request, env, unity, log, report)


@contextlib.contextmanager
def logged(
    env: BuildEnvironment, job_id: uuid.UUID, attempt: int, what: str = "build"
) -> Iterator[LogWriter]:
    """The attempt's log, ending with why the run failed or stopped when it did."""
    with env.logs.open_writer(job_id, attempt) as log:
        try:
            yield log
        except JobFailure as failure:
            log.write(f"[spark] {failure.failure_code}: {failure.message}")
            raise
        except BaseException as error:
            log.write(f"[spark] {what} stopped: {type(error).__name__}")
            raise


def unity_executable(path: Path | None) -> Path:
    """The configured Unity editor, or unity_not_configured."""
    if path is None:
        raise JobFailure(
            "unity_not_configured",
            "SPARK_UNITY_PATH is not set on this build worker; "
            "set it to the Unity editor executable",
        )
    if not path.is_file() or not os.access(path, os.X_OK):
        raise JobFailure(
            "unity_not_configured",
            f"SPARK_UNITY_PATH={path} is not an executable file on this build worker",
        )
    return path


def _build(
    request: BuildRequest, env: BuildEnvironment, unity: Path, log: LogWriter, report: Report
) -> dict[str, Any]:
    """Run the build in the project's workspace and store its player."""
    params, project = request.params, request.project
    log.write(f"[spark] job {request.job_id}: {params.target} build of {project.name!r}")
    with synced(project, params.ref, env, request.files, log) as (ws, laid):
        out = player.output_path(ws.path, params.target, player.player_name(project.name))
        # After the overlay: a project file at the build method's path must not replace it.
        _prepare_project(ws.path, out)
        key = CacheKey(project.id, params.target, env.unity_version)
        with library_cached(env, key, ws.path, log) as warmth:
            try:
                with signing.laid_out(ws.path, params, request.signing) as extra:
                    built = _run_and_store(request, env, unity, log, report, ws, laid, out, extra)
            finally:
                # The player is in storage (or the build failed): a builder making multi-GB
                # players all night must not keep each one on its disk.
                player.remove_output(out)
        return {**built, "library_cache": warmth}


@contextlib.contextmanager
def synced(
    project: Project,
    ref: str | None,
    env: BuildEnvironment,
    files: Callable[[], Iterable[StoredFile]],
    log: LogWriter,
) -> Iterator[tuple[workspace.Workspace, list[dict[str, Any]]]]:
    """The project's locked workspace at ref with SPARK's files laid over it; which versions."""
    # Absolute: Unity runs inside the workspace, so a relative root would point elsewhere.
    root = env.workspace_root.resolve()
    with workspace.prepare(project, ref, root, source_roots=env.source_roots) as ws:
        source = "the source directory" if project.source_dir else "SPARK's files alone"
        log.write(f"[spark] workspace {ws.path} at {ws.revision or source}")
        laid = overlay.lay_over(ws.path, files())
        log.write(f"[spark] laid {len(laid)} file versions from SPARK over the workspace")
        yield ws, laid


@contextlib.contextmanager
def library_cached(
    env: BuildEnvironment, key: CacheKey, workspace_path: Path, log: LogWriter
) -> Iterator[str]:
    """The workspace's Library/ from this builder's cache ('hit' or 'miss'), kept again only
    when the block succeeds."""
    cache = env.library_cache
    warmth = "hit" if cache is not None and cache.restore(key, workspace_path) else "miss"
    log.write(f"[spark] Library cache {warmth} for {key.target} on Unity {key.unity_version}")
    try:
        yield warmth
    except BaseException as error:
        # Failed, canceled or stopped: its Library/ may be half-written, so it is neither
        # kept nor left for the next run to start from.
        if cache is not None:
            cache.discard(workspace_path)
        if isinstance(error, JobFailure) and error.result is not None:
            error.result["library_cache"] = warmth
        raise
    if cache is not None:
        # Only a run that succeeded leaves a Library/ worth starting the next one from.
        log.write(f"[spark] Library cache: {cache.save(key, workspace_path) or 0} bytes kept")


def _run_and_store(
    request: BuildRequest,
    env: BuildEnvironment,
    unity: Path,
    log: LogWriter,
    report: Report,
    ws: workspace.Workspace,
    laid: list[dict[str, Any]],
    out: Path,
    extra: list[str],
) -> dict[str, Any]:
    """Run Unity to write the player at out, then store it as the attempt's artifact."""
    params = request.params
    out = player.in_format(out, params.target, params.options.android_format)
    command = [*build_command(unity, ws.path, params, out, request.job_id), *extra]
    log.write(f"[spark] {shlex.join(command)}")
    parser = LogFollower(log)
    timeout_s = params.timeout_s or env.default_timeout_s
    exit_code, timed_out, duration = run_unity(command, ws.path, parser, env, timeout_s, report)
    log.write(f"[spark] Unity exited with code {exit_code} after {duration:.1f}s")
    outcome = _outcome(exit_code, parser.stated) if not timed_out else "failed"
    result = parser.result(outcome, exit_code, duration, params.target, ws.revision, laid)
    if params.target is BuildTarget.ANDROID:
        # Without the project's keystore Unity signs with its debug key: fine for a device,
        # refused by Google Play.
        result["signed"] = "project" if request.signing is not None else "debug"
    if timed_out:
        raise JobTimedOut(
            "time_limit_exceeded",
            f"the build ran past its {timeout_s:g}s limit and was stopped",
            result=result,
        )
    report(*parser.progress)
    if outcome != "succeeded":
        raise _failure(parser, exit_code, result)
    stored = player.store(env.artifacts, request.job_id, request.attempt, out, result)
    log.write(f"[spark] stored {stored.name} ({stored.size} bytes, sha256 {stored.sha256})")
    return {**result, "artifacts": [stored.as_dict()]}


def _prepare_project(workspace_path: Path, out: Path) -> None:
    """Install SPARK's build method and empty the target's output folder."""
    script = workspace_path / PROJECT_PATH
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(BUILDER_CS, encoding="utf-8")
    # Nothing from an earlier build may end up in this one's artifact.
    player.remove_output(out)
    out.parent.mkdir(parents=True)


def build_command(
    unity: Path, workspace_path: Path, params: UnityBuildParams, out: Path, job_id: uuid.UUID
) -> list[str]:
    """Unity's batch-mode command line running SPARK's build method."""
    target = params.target.value
    command = [
        *(str(unity), "-batchmode", "-nographics", "-quit", "-projectPath", str(workspace_path)),
        *("-buildTarget", target, "-executeMethod", BUILD_METHOD, "-logFile", "-"),
        *("-customBuildTarget", target, "-customBuildPath", str(out)),
    ]
    if params.development:
        command.append("-development")
    if params.target is BuildTarget.WEBGL:
        command += ["-webGLCompression", params.options.compression]
    if params.target is BuildTarget.ANDROID:
        command += ["-androidFormat", params.options.android_format]
    return [*command, "-sparkJobId", str(job_id)]


def run_unity(
    command: list[str],
    workspace_path: Path,
    parser: LogFollower,
    env: BuildEnvironment,
    timeout_s: float,
    report: Report,
) -> tuple[int | None, bool, float]:
    """Run Unity to its end or the deadline; its exit code, whether it timed out, seconds."""
    started = time.monotonic()
    proc = unity_process.start(command, workspace_path, parser.feed, _unity_env())
    try:
        workspace.write_pidfile(workspace_path, proc.pgid)
        timed_out = _supervise(proc, parser, started + timeout_s, env.poll_interval_s, report)
    finally:
        # Every way out, an exception from report or a signal's included, ends the group.
        exit_code = unity_process.stop(proc, env.kill_grace_s)
        workspace.clear_pidfile(workspace_path)
    if proc.reader_error is not None:
        raise proc.reader_error
    return exit_code, timed_out, time.monotonic() - started


def _unity_env() -> dict[str, str]:
    """The worker's environment without SPARK's settings, which hold its secrets."""
    # The project's own editor scripts run inside Unity: they have no business with
    # the database URL or the JWT secret.
    return {name: value for name, value in os.environ.items() if not name.startswith("SPARK_")}


def _supervise(
    proc: unity_process.UnityProcess,
    parser: LogFollower,
    deadline: float,
    poll_s: float,
    report: Report,
) -> bool:
    """Report progress until Unity exits (False) or the deadline passes (True)."""
    while True:
        if proc.reader_error is not None:
            raise proc.reader_error
        # Called every poll, not only on change: report is also where a cancel shows up.
        report(*parser.progress)
        if time.monotonic() >= deadline:
            return unity_process.exited(proc) is False
        if unity_process.wait_exit(proc, min(poll_s, max(0.0, deadline - time.monotonic()))):
            return False


def _outcome(exit_code: int | None, stated: BuildResult | None) -> BuildResult:
    """Succeeded only when Unity exits 0 and its log says so: exit 0 alone proves nothing."""
    if exit_code == 0 and stated == "succeeded":
        return "succeeded"
    return "canceled" if exit_code == _EXIT_CANCELED else "failed"


def _failure(parser: LogFollower, exit_code: int | None, result: dict[str, Any]) -> JobFailure:
    """The JobFailure for a build that did not succeed, naming its first error."""
    details = {"exit_code": exit_code, "result": result["result"]}
    if result["result"] == "canceled":
        message = f"Unity canceled the build (exit code {exit_code})"
        return JobFailure("build_canceled", message, details, result=result)
    if parser.missing_module is not None:
        return _not_installed(parser.missing_module or result["target"], result)
    if parser.errors:
        message = describe(parser.errors[0])
    elif exit_code != 0:
        message = exit_text(exit_code)
    elif parser.stated == "failed":
        message = "the log says Result: Failed although Unity exited 0"
    else:
        message = "Unity exited 0 but its log states no build result"
    return JobFailure("build_failed", message, details, result=result)


def _not_installed(target: str, result: dict[str, Any]) -> JobFailure:
    """target_not_installed: this builder's Unity has no module for the target."""
    host = socket.gethostname()
    message = (
        f"the Unity editor on builder {host} has no {target} module installed; "
        "add it with Unity Hub, or build on a builder that has it"
    )
    return JobFailure(
        "target_not_installed", message, {"target": target, "host": host}, result=result
    )


def describe(message: BuildMessage) -> str:
    """`file(line,col): code message`, or as much of it as the log gave."""
    text = f"{message.code} {message.message}" if message.code else message.message
    if message.file is None:
        return text
    return f"{message.file}({message.line},{message.column}): {text}"


def exit_text(exit_code: int | None) -> str:
    """How Unity's process ended, for a person."""
    if exit_code is None:
        return "Unity could not be stopped"
    if exit_code < 0:
        try:
            return f"Unity was killed by {signal.Signals(-exit_code).name}"
        except ValueError:
            return f"Unity was killed by signal {-exit_code}"
    return f"Unity exited with code {exit_code}"
