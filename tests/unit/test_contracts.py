"""Params, path guardrails and job states, without any service."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import celeryconfig
from spark.config import ConfigurationMissing, Settings
from spark.contracts.params import GenerateScriptParams
from spark.contracts.paths import check_project_path
from spark.db.executor import Database
from spark.domain.jobs import JobState
from spark.kinds import LONGEST_HARD_LIMIT_S


@pytest.mark.parametrize("path", ["Assets/Scripts/Player.cs", "Assets/A/B/C.cs", "Assets/x.y.cs"])
def test_safe_paths_under_assets_pass(path: str) -> None:
    """Ordinary script paths are accepted unchanged."""
    assert check_project_path(path, suffix=".cs") == path


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../Player.cs", ".."),
        ("Assets/../Player.cs", ".."),
        ("/Assets/Player.cs", "relative"),
        ("C:/Assets/Player.cs", "relative"),
        ("Assets\\Player.cs", "forward"),
        ("Assets/Player.txt", ".cs"),
        ("Packages/Player.cs", "under"),
        ("Assets//Player.cs", "normalised"),
        ("Assets/./Player.cs", "normalised"),
        ("Assets/Pl\x00ayer.cs", "NUL"),
        ("Assets/" + "a" * 600 + ".cs", "512"),
    ],
)
def test_unsafe_paths_are_refused_with_a_reason(path: str, reason: str) -> None:
    """Traversal, absolute, foreign roots, wrong suffix and NUL are all refused."""
    with pytest.raises(ValueError, match=reason):
        check_project_path(path, suffix=".cs")


def test_uploads_root_is_allowed_when_asked() -> None:
    """Upload paths live under Uploads/ instead of Assets/."""
    assert check_project_path("Uploads/a.png", roots=("Uploads/",)) == "Uploads/a.png"


def test_generate_script_defaults() -> None:
    """Only the prompt is required; the rest has the contract's defaults."""
    params = GenerateScriptParams(prompt="a coin that spins slowly")
    assert params.base_class == "MonoBehaviour" and params.reasoning == "deterministic"
    assert params.include_comments and not params.write_to_project
    assert params.class_name is None and params.path is None


def test_generate_script_rejects_unknown_fields() -> None:
    """A typo in a param name is an error, not silently ignored."""
    with pytest.raises(ValidationError, match="promt"):
        GenerateScriptParams.model_validate({"prompt": "a coin that spins", "promt": "x"})


def test_terminal_states_never_move() -> None:
    """Terminal states have no legal next state; queued may go to running or canceled."""
    for state in JobState:
        if state.terminal:
            assert not any(state.can_move_to(other) for other in JobState)
    assert JobState.QUEUED.can_move_to(JobState.RUNNING)
    assert JobState.QUEUED.can_move_to(JobState.CANCELED)
    assert not JobState.QUEUED.can_move_to(JobState.SUCCEEDED)


def test_visibility_timeout_exceeds_the_longest_time_limit() -> None:
    """The Redis broker must not redeliver a message while its task may still be running."""
    config = celeryconfig.build(Settings(broker_url="redis://127.0.0.1:1/0"))
    assert config["broker_transport_options"]["visibility_timeout"] > LONGEST_HARD_LIMIT_S
    assert config["result_backend_transport_options"]["visibility_timeout"] > LONGEST_HARD_LIMIT_S
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["task_ignore_result"] and config["worker_send_task_events"]
    assert config["task_send_sent_event"] and config["broker_connection_retry_on_startup"]
    assert config["task_routes"]["spark.jobs.unity_build"] == {"queue": "builds"}


def test_the_database_must_be_postgres() -> None:
    """A URL of another database is refused as the engine is made, naming what SPARK needs."""
    with pytest.raises(ValueError, match="PostgreSQL"):
        Database("sqlite:///spark.db")


def test_the_celery_configuration_needs_a_broker_url() -> None:
    """With no broker configured there is no Celery configuration, and the error names it."""
    with pytest.raises(ConfigurationMissing, match="SPARK_BROKER_URL"):
        celeryconfig.build(Settings(broker_url=None))
