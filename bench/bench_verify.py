"""SPARK's overhead around a verify chain vs bare Celery, both running the Unity stand-in.

    .venv/bin/python -m bench.bench_verify [--chains N] [--json]

A verify chain is an apply_patch with `verify: {compile: true, tests: "EditMode"}`: the patch
is written, then a compile_check and a run_tests child job run the Unity stand-in
(fakes/unity.py: success, no pause between lines, no import cost, so its own time is a few
ms) and the parent ends. (a) bare Celery (SPARK's Celery config, own queue, 1 prefork
process, prefetch 1, acks late; bench/_bare_verify.py): a row, then write -> compile -> tests
tasks, each marking the row and sending the next; (b) the real `spark api`, a `spark worker`
on patches and maintenance (the parent and its continuation) and a builds-only `spark
worker` (the children). N chains each, one at a time, after WARMUP. Per chain: submit ->
compile queued -> Unity -> tests queued -> Unity -> end, and each step's overhead: its legs
minus the stand-in's own time (its start and exit records).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._bare_verify import SCRIPT, BareChain, run_bare_chains, script_for
from bench._cli import Bench
from bench._procs import Proc, stop_all
from bench._resources import BenchServers, bench_servers
from bench._spark_verify import SparkSetup, run_spark_chains
from bench.bench_builds import STATS, read_records, summarize
from fakes.unity import make_unity_project, write_launcher

DEFAULT_CHAINS = 30
WARMUP = 3
#: the per-step p50 SPARK aims at, in ms
GOAL_P50_MS = 150.0
#: the chain's marks, in order (wall clock, time.time(): one machine, one clock)
MARKS = (
    "submitted",
    "compile_queued",
    "compile_start",
    "compile_exit",
    "tests_queued",
    "tests_start",
    "tests_exit",
    "ended",
)
LEGS = {
    "submit_to_compile_queued": "submit -> compile_check queued",
    "compile_queued_to_start": "compile queued -> Unity started",
    "compile_unity": "compile: Unity started -> exited",
    "compile_exit_to_tests_queued": "compile exited -> run_tests queued",
    "tests_queued_to_start": "tests queued -> Unity started",
    "tests_unity": "tests: Unity started -> exited",
    "tests_exit_to_end": "tests exited -> parent end",
}
#: SPARK's legs split where its rows say: the builder's claim (the child's started_at) and the
#: child's end (its finished_at)
DETAIL = {
    "compile_queued_to_claimed": ("compile_queued", "compile_claimed", "compile queued -> claimed"),
    "compile_claimed_to_start": ("compile_claimed", "compile_start", "claimed -> Unity started"),
    "compile_exit_to_finished": ("compile_exit", "compile_finished", "Unity exited -> step ended"),
    "compile_finished_to_tests_queued": (
        "compile_finished",
        "tests_queued",
        "step ended -> run_tests queued",
    ),
    "tests_queued_to_claimed": ("tests_queued", "tests_claimed", "tests queued -> claimed"),
    "tests_claimed_to_start": ("tests_claimed", "tests_start", "claimed -> Unity started"),
    "tests_exit_to_finished": ("tests_exit", "tests_finished", "Unity exited -> step ended"),
    "tests_finished_to_end": ("tests_finished", "ended", "step ended -> parent end"),
}
STEPS = {
    "write": "write (submit -> compile queued)",
    "compile": "compile step overhead",
    "tests": "tests step overhead",
    "total": "chain overhead (total - stand-in)",
}
TEST_ASMDEF = {
    "name": "Bench.Tests",
    "references": ["UnityEngine.TestRunner", "UnityEditor.TestRunner"],
    "includePlatforms": ["Editor"],
    "precompiledReferences": ["nunit.framework.dll"],
}
TESTS_CS = """using NUnit.Framework;

public class BenchTests
{
    [Test]
    public void Adds()
    {
        Assert.AreEqual(2, 1 + 1);
    }
}
"""


@dataclass(frozen=True)
class Chain:
    """One chain's marks (MARKS), in seconds."""

    chain_id: str
    marks: dict[str, float]

    def legs_ms(self) -> dict[str, float]:
        """Each leg of LEGS, in ms."""
        values = [self.marks[m] for m in MARKS]
        return dict(zip(LEGS, [(b - a) * 1000 for a, b in itertools.pairwise(values)], strict=True))

    def detail_ms(self) -> dict[str, float]:
        """SPARK's legs of DETAIL, in ms (none for a chain without its rows' stamps)."""
        if not all(a in self.marks and b in self.marks for a, b, _ in DETAIL.values()):
            return {}
        return {leg: (self.marks[b] - self.marks[a]) * 1000 for leg, (a, b, _) in DETAIL.items()}

    def steps_ms(self) -> dict[str, float]:
        """Each step's overhead (STEPS): its legs without the stand-in's own time."""
        legs = self.legs_ms()
        compile_ = legs["compile_queued_to_start"] + legs["compile_exit_to_tests_queued"]
        tests = legs["tests_queued_to_start"] + legs["tests_exit_to_end"]
        write = legs["submit_to_compile_queued"]
        return {
            "write": write,
            "compile": compile_,
            "tests": tests,
            "total": write + compile_ + tests,
        }


@dataclass(frozen=True)
class Side:
    """The measured chains of one phase, and CPU seconds per process group during them."""

    chains: list[Chain]
    cpu_s: dict[str, float]

    def legs(self) -> dict[str, dict[str, float]]:
        """Leg -> mean/p50/p99 ms."""
        legs = [c.legs_ms() for c in self.chains]
        return {leg: summarize([one[leg] for one in legs]) for leg in LEGS}

    def detail(self) -> dict[str, dict[str, float]]:
        """DETAIL leg -> mean/p50/p99 ms (empty for a side without those stamps)."""
        details = [c.detail_ms() for c in self.chains]
        if not all(details):
            return {}
        return {leg: summarize([one[leg] for one in details]) for leg in DETAIL}

    def steps(self) -> dict[str, dict[str, float]]:
        """Step -> mean/p50/p99 ms of its overhead."""
        steps = [c.steps_ms() for c in self.chains]
        return {step: summarize([one[step] for one in steps]) for step in STEPS}

    def cpu_ms_per_chain(self) -> dict[str, float]:
        """CPU ms per chain of each process group measured."""
        return {name: s * 1000 / len(self.chains) for name, s in self.cpu_s.items()}


def with_unity(
    chain_id: str, marks: dict[str, float], records: dict[str, Any], ids: tuple[str, str]
) -> Chain:
    """The chain with the stand-in's start and exit of its compile and tests runs (ids)."""
    full = dict(marks)
    for step, run_id in zip(("compile", "tests"), ids, strict=True):
        times = records.get(run_id, {})
        if set(times) != {"start", "exit"}:
            raise RuntimeError(f"the stand-in recorded {sorted(times)} for {step} {run_id}")
        full[f"{step}_start"], full[f"{step}_exit"] = times["start"], times["exit"]
    return Chain(chain_id, full)


@dataclass(frozen=True)
class Paths:
    """The run's files: the Unity launcher, a project per side, the stand-in's records."""

    workdir: Path
    unity: Path

    def project(self, side: str) -> Path:
        """The side's Unity project (the bare chain writes into its folder)."""
        return self.workdir / f"{side}-project"

    def record(self, side: str) -> Path:
        """Where the stand-in appends its records in phase side."""
        return self.workdir / f"{side}-unity-record.jsonl"

    def stand_in_env(self, side: str) -> dict[str, str]:
        """FAKE_UNITY_*: success, no pause between lines, no import cost, recording."""
        return {
            "FAKE_UNITY_MODE": "success",
            "FAKE_UNITY_DELAY_S": "0",
            "FAKE_UNITY_IMPORT_S": "0",
            "FAKE_UNITY_RECORD": str(self.record(side)),
        }


def _make_project(root: Path) -> Path:
    """A Unity project with one passing EditMode test and the script the chains rewrite."""
    project = make_unity_project(root, "success", 0.0)
    tests = project / "Assets" / "Tests"
    tests.mkdir(parents=True)
    (tests / "Bench.Tests.asmdef").write_text(json.dumps(TEST_ASMDEF), encoding="utf-8")
    (tests / "BenchTests.cs").write_text(TESTS_CS, encoding="utf-8")
    (project / SCRIPT).parent.mkdir(parents=True)
    (project / SCRIPT).write_text(script_for("initial"), encoding="utf-8")
    return project


def bare_phase(db: BenchServers, paths: Paths, chains: int) -> Side:
    """(a) WARMUP, then chains bare Celery chains one at a time."""
    measured, cpu = run_bare_chains(
        paths.unity,
        paths.project("bare"),
        paths.stand_in_env("bare"),
        paths.workdir,
        (WARMUP, chains),
        (db.broker_url, db.psycopg_url),
    )
    records = read_records(paths.record("bare"))
    return Side([_bare_chain(one, records) for one in measured], {"worker": cpu})


def _bare_chain(one: BareChain, records: dict[str, Any]) -> Chain:
    ids = (f"{one.chain}-compile", f"{one.chain}-tests")
    return with_unity(one.chain, one.stamps, records, ids)


def spark_phase(db: BenchServers, paths: Paths, chains: int, procs: list[Proc]) -> Side:
    """(b) WARMUP, then chains verified apply_patch jobs one at a time."""
    timed, cpu = run_spark_chains(
        db,
        SparkSetup(paths.workdir, paths.unity, paths.project("spark"), paths.stand_in_env("spark")),
        (WARMUP, chains),
        procs,
    )
    records = read_records(paths.record("spark"))
    return Side([with_unity(one.job_id, one.marks, records, one.steps) for one in timed], cpu)


@dataclass(frozen=True)
class Report:
    """All figures of one run."""

    servers: str
    chains: int
    bare: Side
    spark: Side

    def ratios(self) -> dict[str, dict[str, float]]:
        """SPARK ÷ bare per step and statistic."""
        bare, spark = self.bare.steps(), self.spark.steps()
        return {
            step: {k: spark[step][k] / bare[step][k] if bare[step][k] else math.nan for k in STATS}
            for step in STEPS
        }

    def as_dict(self) -> dict[str, Any]:
        """Every figure, for --json."""
        sides = {"bare_celery": self.bare, "spark": self.spark}
        figures = {
            name: {
                "legs_ms": side.legs(),
                "detail_ms": side.detail(),
                "steps_ms": side.steps(),
                "cpu_ms_per_chain": side.cpu_ms_per_chain(),
                "chains": [
                    dataclasses.asdict(c) | {"legs_ms": c.legs_ms(), "steps_ms": c.steps_ms()}
                    for c in side.chains
                ],
            }
            for name, side in sides.items()
        }
        spark = self.spark.steps()
        return {
            "servers": self.servers,
            "cpus": os.cpu_count(),
            "chains": self.chains,
            "warmup": WARMUP,
            **figures,
            "ratios": self.ratios(),
            "goal_p50_ms": GOAL_P50_MS,
            "goal_met": all(
                spark[step]["p50"] <= GOAL_P50_MS for step in ("write", "compile", "tests")
            ),
        }


def _prepare(workdir: Path) -> Paths:
    (workdir / "var").mkdir()
    paths = Paths(workdir, write_launcher(workdir / "unity"))
    for side in ("bare", "spark"):
        _make_project(paths.project(side))
    return paths


def run(chains: int = DEFAULT_CHAINS) -> Report:
    """(a) then (b) on servers of the run's own; every child and server is stopped."""
    with (
        tempfile.TemporaryDirectory(prefix="spark-bench-verify-") as tmp,
        bench_servers() as db,
    ):
        paths = _prepare(Path(tmp))
        procs: list[Proc] = []
        try:
            bare = bare_phase(db, paths, chains)
            spark = spark_phase(db, paths, chains, procs)
        finally:
            stop_all(procs)
    return Report(db.name, chains, bare, spark)


def _cells(values: dict[str, float], fmt: str) -> str:
    return "".join(f"{values[k]:{fmt}}" for k in STATS)


def _goal(spark: dict[str, dict[str, float]], step: str) -> str:
    """Whether step's p50 meets the goal (the chain's total has none)."""
    if step == "total":
        return ""
    return "  ok" if spark[step]["p50"] <= GOAL_P50_MS else "  over"


def render(r: Report) -> str:
    """The human-readable tables."""
    bare_legs, spark_legs = r.bare.legs(), r.spark.legs()
    bare, spark, ratios = r.bare.steps(), r.spark.steps(), r.ratios()
    head = "".join(f"{k:>8}" for k in STATS)
    ratio_head = "".join(f"{k:>7}" for k in STATS)
    cpu_bare, cpu_spark = r.bare.cpu_ms_per_chain(), r.spark.cpu_ms_per_chain()
    detail = r.spark.detail()
    return "\n".join([
        f"SPARK verify-chain benchmark: apply_patch + verify {{compile, tests: EditMode}}, Unity "
        f"stand-in (success, no delay, no import), {r.chains} chains one at a time after "
        f"{WARMUP} warm-up,",
        f"{r.servers}, {os.cpu_count()} CPUs",
        "",
        f"{'legs':<41}{'bare Celery ms':>24}{'SPARK ms':>24}",
        f"{'':<41}{head}{head}",
        *(f"{LEGS[leg]:<41}{_cells(bare_legs[leg], '8.1f')}{_cells(spark_legs[leg], '8.1f')}"
          for leg in LEGS),
        "",
        f"{'steps (stand-in time taken out)':<41}{'bare Celery ms':>24}{'SPARK ms':>24}"
        f"{'SPARK / bare':>21}",
        f"{'':<41}{head}{head}{ratio_head}",
        *(f"{STEPS[step]:<41}{_cells(bare[step], '8.1f')}{_cells(spark[step], '8.1f')}"
          f"{_cells(ratios[step], '7.2f')}{_goal(spark, step)}" for step in STEPS),
        "",
        "SPARK's steps split by the children's rows (started_at: claimed; finished_at: ended)",
        f"{'':<41}{'SPARK ms':>24}",
        f"{'':<41}{head}",
        *(f"{DETAIL[leg][2]:<41}{_cells(stats, '8.1f')}" for leg, stats in detail.items()),
        "",
        f"goal: every step <= {GOAL_P50_MS:.0f} ms at p50 (ok/over above)",
        f"CPU ms per chain: bare worker {cpu_bare['worker']:.1f}; SPARK API "
        f"{cpu_spark['api']:.1f}, worker {cpu_spark['worker']:.1f}, builder "
        f"{cpu_spark['builder']:.1f} (the stand-in excluded)",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table or JSON."""
    return Bench(
        "bench.bench_verify",
        __doc__ or "",
        "--chains",
        DEFAULT_CHAINS,
        "verify chains per phase",
        run,
        render,
        lambda r: r.as_dict(),
    ).main(argv)


if __name__ == "__main__":
    sys.exit(main())
