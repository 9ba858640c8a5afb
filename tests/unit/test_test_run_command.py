"""The test run's Unity command line, and the per-test line SPARK's callback prints."""

from __future__ import annotations

import uuid
from pathlib import Path

from spark.contracts.test_params import RunTestsParams
from spark.engines.unity import test_reporter
from spark.engines.unity.tests_run import run_tests_command

JOB = uuid.UUID("00000000-0000-4000-8000-000000000001")


def test_the_command_runs_tests_in_batch_mode_without_quit() -> None:
    params = RunTestsParams.model_validate(
        {"platform": "PlayMode", "filter": "Shop\\..*", "categories": ["fast", "!slow"]}
    )
    command = run_tests_command(Path("/u/Unity"), Path("/w"), params, Path("/w/r.xml"), JOB)
    assert "-quit" not in command
    assert command[:4] == ["/u/Unity", "-batchmode", "-nographics", "-projectPath"]
    assert command[command.index("-testPlatform") + 1] == "PlayMode"
    assert command[command.index("-testResults") + 1] == "/w/r.xml"
    assert command[command.index("-testFilter") + 1] == "Shop\\..*"
    assert command[command.index("-testCategory") + 1] == "fast;!slow"
    assert "-assemblyNames" not in command and "-runTests" in command
    assert command[-2:] == ["-sparkJobId", str(JOB)]


def test_the_callbacks_line_gives_the_test_and_the_share_of_the_run_done() -> None:
    line = '[SparkTests] finished Shop.Cart.Price(10,"EUR") Failed (2/3)'
    test = test_reporter.finished_test(line)
    assert test is not None
    assert (test.fullname, test.status, test.done, test.total) == (
        'Shop.Cart.Price(10,"EUR")',
        "Failed",
        2,
        3,
    )
    assert test.percent == 66
    assert test_reporter.finished_test("[SparkTests] started 3") is None


def test_the_callback_source_registers_test_runner_callbacks() -> None:
    source = test_reporter.REPORTER_CS
    assert "TestRunnerApi" in source and "ICallbacks" in source
    assert "[SparkTests] finished" in source
