"""`spark bench --verify`: its command line, and how a verify chain's marks become each step's
overhead with the Unity stand-in's own time taken out."""

from __future__ import annotations

import pytest
import typer

from bench.bench_verify import Chain
from spark.cli.bench import _argv, _load_bench


def test_spark_bench_verify_runs_the_verify_chain_benchmark_with_its_chain_count() -> None:
    assert _argv(False, 1, None, None, False, verify=True) == ["--chains", "30"]
    assert _argv(False, 1, 5, None, True, verify=True) == ["--chains", "5", "--json"]
    assert callable(_load_bench("bench_verify"))


def test_verify_is_one_benchmark_among_the_others() -> None:
    with pytest.raises(typer.BadParameter, match="--verify"):
        _argv(False, 1, None, None, False, builds=True, verify=True)


def test_each_step_is_its_legs_without_the_stand_ins_own_time() -> None:
    marks = dict(
        submitted=0.0,
        compile_queued=0.010,
        compile_start=0.070,
        compile_exit=1.070,
        tests_queued=1.090,
        tests_start=1.150,
        tests_exit=3.150,
        ended=3.180,
    )
    steps = Chain("c", marks).steps_ms()
    assert steps == pytest.approx({"write": 10, "compile": 80, "tests": 90, "total": 180})
