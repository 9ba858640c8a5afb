"""`run_tests`: the project's Unity tests in batch mode on a build-farm worker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spark.contracts.test_params import RunTestsParams
from spark.domain.events import EventType
from spark.engines.unity import tests_run
from spark.engines.unity.test_reporter import FinishedTest
from spark.handlers.builds import current_files, farm_project
from spark.jobs.runner import JobContext


def run_tests(ctx: JobContext) -> Mapping[str, Any]:
    """Run the project's tests, with SPARK's newest version of each of its files laid over
    its source, for the platform; a progress event goes out as each test finishes."""
    params = RunTestsParams.model_validate(ctx.job.params)
    tools = ctx.need_tools()
    project = farm_project(ctx, "test run")

    def on_test(test: FinishedTest) -> None:
        # Straight to the event stream: the stored progress is written at most every
        # progress interval, and a fast suite finishes many tests within one.
        message = f"{test.fullname} {test.status.lower()}"
        data = {"percent": test.percent, "message": message, "test": test.fullname}
        ctx.emit(EventType.PROGRESS, {**data, "done": test.done, "total": test.total})

    request = tests_run.RunRequest(
        ctx.job.id,
        ctx.attempt,
        project,
        params,
        files=current_files(ctx, project),
    )
    return tests_run.run_tests(request, tools.builds, ctx.report, on_test)
