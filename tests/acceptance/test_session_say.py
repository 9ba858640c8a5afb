"""`spark session say`: a turn from a terminal, followed to SPARK's answer."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from spark.cli import app as cli_app
from tests.support.workers import ApiProcess, WorkerProcess


def test_say_follows_the_turn_and_prints_each_call_and_the_answer(
    api_server: ApiProcess, worker: WorkerProcess, api_key: str
) -> None:
    """With no LLM configured the offline planner answers: one generate_script call."""
    env = {"SPARK_API_URL": api_server.url, "SPARK_API_KEY": api_key}
    runner = CliRunner()
    opened = runner.invoke(cli_app, ["session", "new", "--title", "Crypt"], env=env)
    assert opened.exit_code == 0, opened.output
    session = opened.stdout.strip()

    said = runner.invoke(
        cli_app, ["session", "say", session, "a lantern that flickers like a candle"], env=env
    )
    assert said.exit_code == 0, said.output
    lines = said.stdout.splitlines()
    call = next(line for line in lines if line.strip().startswith("generate_script: job "))
    assert call.rstrip().endswith("succeeded"), said.stdout

    as_json = runner.invoke(
        cli_app, ["session", "say", session, "an enemy that patrols", "--json"], env=env
    )
    assert as_json.exit_code == 0, as_json.output
    turn = json.loads(as_json.stdout)
    assert turn["kind"] == "assist" and turn["state"] == "succeeded"
    assert [c["tool"] for c in turn["result"]["calls"]] == ["generate_script"]
    assert (
        turn["result"]["text"]
        in runner.invoke(cli_app, ["session", "show", session], env=env).stdout
    )

    queued = runner.invoke(cli_app, ["session", "say", session, "hello", "--no-wait"], env=env)
    assert queued.exit_code == 0 and len(queued.stdout.strip()) == 36
