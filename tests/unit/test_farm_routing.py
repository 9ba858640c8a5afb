"""Farm jobs are routed by the target their params name: the registry names the queue, the
Celery config declares it, and a builder's queues follow the targets it declares."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
import typer

import celeryconfig
from spark.cli.serve import builder_queues, parse_targets
from spark.config import Settings
from spark.domain.farm import Builder, BuilderBeat, Farm
from spark.domain.jobs import JobKind
from spark.domain.targets import BuildTarget
from spark.kinds import REGISTRY, per_target_kinds, queue_of, target_queues
from spark.worker.farm import declared_targets


def test_a_build_is_routed_to_the_queue_of_its_target() -> None:
    assert queue_of(JobKind.UNITY_BUILD, {"target": "Android"}) == "builds.Android"
    assert queue_of(JobKind.UNITY_BUILD, {"target": "StandaloneLinux64"}) == (
        "builds.StandaloneLinux64"
    )


def test_a_build_without_a_known_target_goes_to_the_plain_builds_queue() -> None:
    assert queue_of(JobKind.UNITY_BUILD, {}) == "builds"
    assert queue_of(JobKind.UNITY_BUILD, {"target": "Amiga"}) == "builds"


def test_every_other_kind_goes_to_its_kinds_queue_whatever_its_params() -> None:
    for kind, spec in REGISTRY.items():
        if kind is JobKind.UNITY_BUILD:
            continue
        assert queue_of(kind, {"target": "Android"}) == spec.queue.value


def test_only_farm_kinds_are_routed_per_target() -> None:
    assert per_target_kinds() == {JobKind.UNITY_BUILD}


def test_the_celery_config_declares_a_queue_per_target_beside_builds() -> None:
    config = celeryconfig.build(Settings(broker_url="redis://127.0.0.1:1/0"))
    declared = {q.name for q in config["task_queues"]}
    assert {"builds", *(f"builds.{t.value}" for t in BuildTarget)} <= declared
    assert len(target_queues()) == len(BuildTarget) == 13


def test_a_builder_consumes_builds_and_the_queue_of_each_target_it_declares(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # registered first, so the export below is undone after the test
    monkeypatch.setenv("SPARK_BUILD_TARGETS", "")
    queues = builder_queues("builds", [BuildTarget.WEBGL, BuildTarget.ANDROID])
    assert queues == "builds,builds.WebGL,builds.Android"
    assert os.environ["SPARK_BUILD_TARGETS"] == "WebGL,Android"


def test_a_worker_without_the_builds_queue_is_left_as_it_is() -> None:
    assert builder_queues("generation,patches", [BuildTarget.WEBGL]) == "generation,patches"


def test_targets_are_read_as_people_write_them() -> None:
    assert parse_targets(" WebGL, Android ") == [BuildTarget.WEBGL, BuildTarget.ANDROID]


def test_an_unknown_target_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(typer.BadParameter) as refused:
        parse_targets("WebGL,Amiga")
    message = str(refused.value)
    assert "Amiga" in message
    assert all(t.value in message for t in BuildTarget)


def test_a_worker_declares_the_targets_of_the_build_queues_it_consumes() -> None:
    assert declared_targets(["builds", "builds.iOS", "builds.WebGL"]) == (
        BuildTarget.IOS,
        BuildTarget.WEBGL,
    )
    assert declared_targets(["builds"]) == ()
    assert declared_targets(["generation", "maintenance"]) is None


def test_targets_without_builder_are_those_no_live_builder_declares() -> None:
    beat = BuilderBeat(
        "spark1@b1", "b1", "Linux", ("6000.0.23f1",), (BuildTarget.ANDROID,), datetime.now(UTC)
    )
    farm = Farm((Builder(beat),))
    missing = farm.without_builder()
    assert BuildTarget.ANDROID not in missing
    assert len(missing) == 12
    assert farm.without_builder([BuildTarget.ANDROID, BuildTarget.IOS]) == [BuildTarget.IOS]
