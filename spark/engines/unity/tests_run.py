"""The Unity test runner: a synced workspace with SPARK's files and test callback laid over
it, Unity in batch mode with `-runTests` (its log streamed, a progress event per finished
test, the whole process tree stopped on cancel or timeout), its NUnit results read and kept."""

from __future__ import annotations

import collections
import shlex
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spark.contracts.test_params import RunTestsParams
from spark.domain.files import StoredFile
from spark.domain.projects import Project
from spark.engines.unity import nunit, test_reporter
from spark.engines.unity.builds import (
    BuildEnvironment,
    Report,
    describe,
    exit_text,
    logged,
    run_unity,
    synced,
    unity_executable,
)
from spark.engines.unity.log_follower import LogFollower
from spark.engines.unity.test_reporter import FinishedTest
from spark.errors import JobFailure, JobTimedOut
from spark.storage.logs import LogWriter

#: Unity Test Framework's exit codes (Executer.cs); anything else is the editor's own failure
EXIT_PASSED, EXIT_FAILED, EXIT_RUN_ERROR, EXIT_PLATFORM_NOT_FOUND = 0, 2, 3, 4
#: where the run writes its results, inside the workspace but outside the project's Assets/
RESULTS_DIR = ".spark-tests"

OnTest = Callable[[FinishedTest], None]


@dataclass(frozen=True)
class RunRequest:
    """One attempt at running a project's tests for the job."""

    job_id: uuid.UUID
    attempt: int
    project: Project
    params: RunTestsParams
    #: SPARK's files for the project, read once the workspace is synced and locked
    files: Callable[[], Iterable[StoredFile]]


def run_tests(
    request: RunRequest, env: BuildEnvironment, report: Report, on_test: OnTest
) -> dict[str, Any]:
    """Run the tests and keep their results; the result, or JobFailure with it attached."""
    unity = unity_executable(env.unity_path)
    with logged(env, request.job_id, request.attempt, "test run") as log:
        return _run(request, env, unity, log, _Progress(report, on_test))


def _run(
    request: RunRequest, env: BuildEnvironment, unity: Path, log: LogWriter, progress: _Progress
) -> dict[str, Any]:
    """Prepare the workspace, run Unity in it and read what it wrote."""
    params, project = request.params, request.project
    log.write(f"[spark] job {request.job_id}: {params.platform} tests of {project.name!r}")
    with synced(project, params.ref, env, request.files, log) as (ws, laid):
        # After the overlay: a project file at the callback's path must not replace it.
        test_reporter.install(ws.path)
        results = ws.path / RESULTS_DIR / f"{params.platform.value.lower()}-results.xml"
        # Nothing from an earlier run may be read as this one's results.
        shutil.rmtree(results.parent, ignore_errors=True)
        results.parent.mkdir(parents=True)
        command = run_tests_command(unity, ws.path, params, results, request.job_id)
        log.write(f"[spark] {shlex.join(command)}")
        follower = RunLogFollower(log)
        timeout_s = params.timeout_s or env.default_timeout_s
        exit_code, timed_out, duration = run_unity(
            command, ws.path, follower, env, timeout_s, progress.bind(follower)
        )
        progress.drain(follower)
        log.write(f"[spark] Unity exited with code {exit_code} after {duration:.1f}s")
        outcome = _Outcome(exit_code, duration, laid, follower)
        if timed_out:
            message = f"the test run passed its {timeout_s:g}s limit and was stopped"
            raise JobTimedOut("time_limit_exceeded", message, result=outcome.error_result())
        return _conclude(request, env, results, outcome)


def run_tests_command(
    unity: Path, workspace_path: Path, params: RunTestsParams, results: Path, job_id: uuid.UUID
) -> list[str]:
    """Unity's batch-mode command line running the tests; never `-quit`, which stops the
    runner before it starts."""
    command = [
        *(str(unity), "-batchmode", "-nographics", "-projectPath", str(workspace_path)),
        *("-runTests", "-testPlatform", params.platform.value, "-testResults", str(results)),
        *("-logFile", "-"),
    ]
    if params.filter:
        command += ["-testFilter", params.filter]
    if params.categories:
        command += ["-testCategory", ";".join(params.categories)]
    if params.assemblies:
        command += ["-assemblyNames", ";".join(params.assemblies)]
    return [*command, "-sparkJobId", str(job_id)]


class RunLogFollower(LogFollower):
    """A build's log follower that also notes each test SPARK's callback reports finished."""

    def __init__(self, log: LogWriter) -> None:
        super().__init__(log)
        # Filled by the log's reader thread, emptied by the supervising one.
        self.finished: collections.deque[FinishedTest] = collections.deque()

    def feed(self, line: str) -> None:
        """Take one line of Unity's output."""
        super().feed(line)
        if (test := test_reporter.finished_test(line)) is not None:
            self.finished.append(test)
            self.progress = (test.percent, f"{test.fullname} {test.status.lower()}")


class _Progress:
    """Hands each finished test on as it is seen, then the run's progress as a checkpoint."""

    def __init__(self, report: Report, on_test: OnTest) -> None:
        self.report, self.on_test = report, on_test

    def bind(self, follower: RunLogFollower) -> Report:
        """The checkpoint the supervisor calls each poll, for this follower."""

        def checkpoint(percent: int, message: str) -> None:
            self.drain(follower)
            self.report(percent, message)

        return checkpoint

    def drain(self, follower: RunLogFollower) -> None:
        """Hand on every test finished since the last call."""
        while follower.finished:
            self.on_test(follower.finished.popleft())


@dataclass(frozen=True)
class _Outcome:
    """How Unity's run ended, before its results are read."""

    exit_code: int | None
    duration_s: float
    files: list[dict[str, Any]]
    follower: RunLogFollower

    def error_result(self) -> dict[str, Any]:
        """The result of a run that produced no usable results."""
        counts = dict.fromkeys(("total", "passed", "failed", "skipped", "inconclusive"), 0)
        return self._result("error", counts, round(self.duration_s, 3), [])

    def result(self, run: nunit.NUnitRun) -> dict[str, Any]:
        """The result for the run's NUnit results."""
        failures = [failure.as_dict() for failure in run.failures]
        return self._result(run.outcome, run.counts, run.duration_s, failures)

    def _result(
        self, outcome: str, counts: dict[str, int], duration_s: float, failures: list[Any]
    ) -> dict[str, Any]:
        return {
            "result": outcome,
            **counts,
            "duration_s": duration_s,
            "failures": failures,
            "exit_code": self.exit_code,
            "files": self.files,
            "artifacts": [],
        }


def _conclude(
    request: RunRequest, env: BuildEnvironment, results: Path, outcome: _Outcome
) -> dict[str, Any]:
    """The job's result from the exit code and the results file, with the file stored."""
    code = outcome.exit_code
    if code not in (EXIT_PASSED, EXIT_FAILED):
        raise JobFailure(
            "test_run_error",
            _run_error(outcome),
            {"exit_code": code},
            result=outcome.error_result(),
        )
    try:
        run = nunit.read_results(results)
    except nunit.ResultsInvalid as invalid:
        raise JobFailure(
            "test_results_invalid", str(invalid), {"exit_code": code}, result=outcome.error_result()
        ) from None
    result = outcome.result(run)
    stored = env.artifacts.put_file(request.job_id, request.attempt, results.name, results)
    result["artifacts"] = [stored.as_dict()]
    return _verdict(result, run, request.params)


def _verdict(result: dict[str, Any], run: nunit.NUnitRun, params: RunTestsParams) -> dict[str, Any]:
    """The result when every test passed; tests_failed or no_tests_matched otherwise."""
    if run.counts["failed"]:
        first = run.failures[0] if run.failures else None
        where = f" at {first.file}:{first.line}" if first and first.file else ""
        named = f": {first.fullname}{where}: {first.message}" if first else ""
        message = f"{run.counts['failed']} of {run.counts['total']} tests failed{named}"
        raise JobFailure("tests_failed", message, result=result)
    if run.counts["total"] == 0:
        # Unity exits 0 when nothing matched: a run that tested nothing proves nothing.
        message = f"no {params.platform} test matched the run's filter, categories or assemblies"
        raise JobFailure("no_tests_matched", message, result=result)
    return result


def _run_error(outcome: _Outcome) -> str:
    """Why Unity's run produced no results, for a person."""
    code, errors = outcome.exit_code, outcome.follower.errors
    if code == EXIT_PLATFORM_NOT_FOUND:
        return "Unity does not know the test platform (exit code 4)"
    if errors:
        return f"the test run could not start: {describe(errors[0])}"
    if code == EXIT_RUN_ERROR:
        return "the test run failed before running tests (exit code 3)"
    return exit_text(code)
