"""Event subjects, envelopes and PII scrubbing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from spark.contracts.events import InvalidEvent
from spark.domain.events import Event, EventFamily, EventType
from spark.domain.jobs import Job, JobKind, JobState
from spark.events.envelope import decode_event, job_event, outcome_event
from spark.security.scrub import scrub, scrub_text

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


def job(kind: JobKind = JobKind.GENERATE_SCRIPT, state: JobState = JobState.RUNNING) -> Job:
    return Job(
        id=uuid.uuid4(),
        owner="alice",
        kind=kind,
        state=state,
        params={},
        created_at=datetime.now(UTC),
        session_id="level-3",
    )


@pytest.mark.parametrize(
    ("kind", "type_", "subject"),
    [
        (JobKind.GENERATE_SCRIPT, EventType.STARTED, "spark.runtime.unity.started.level-3"),
        (JobKind.APPLY_PATCH, EventType.COMPLETED, "spark.runtime.unity.completed.level-3"),
        (JobKind.RENDER_PREVIEW, EventType.FRAME, "spark.preview.unity.frame.level-3"),
        (JobKind.UNITY_BUILD, EventType.PROGRESS, "spark.build.unity.progress.level-3"),
    ],
)
def test_subjects_follow_the_contract(kind: JobKind, type_: EventType, subject: str) -> None:
    """spark.<family>.unity.<type>.<session>, the family picked by kind."""
    assert job_event(job(kind), type_).subject == subject


def test_timeouts_have_their_own_subject_only_for_builds() -> None:
    """A timed-out build says timeout; a timed-out script job says failed."""
    assert outcome_event(job(JobKind.UNITY_BUILD, JobState.TIMED_OUT)).type is EventType.TIMEOUT
    assert outcome_event(job(state=JobState.TIMED_OUT)).type is EventType.FAILED
    assert outcome_event(job(state=JobState.CANCELED)).type is EventType.CANCELED


def test_envelope_round_trips_and_checks_its_subject() -> None:
    """What is published decodes to the same event; a mismatched subject is refused."""
    event = job_event(job(), EventType.PROGRESS, {"percent": 40})
    assert set(event.envelope()) == {"id", "type", "job_id", "job_kind", "session_id", "ts", "data"}
    again = decode_event(event.encode(), event.subject)
    assert again == event
    with pytest.raises(InvalidEvent):
        decode_event(event.encode(), "spark.build.unity.progress.level-3")
    with pytest.raises(InvalidEvent):
        decode_event(b'{"id": "nope"}')


def test_scrub_masks_emails_keys_tokens_and_jwts() -> None:
    """Every kind of secret or address in free text is masked."""
    text = (
        f"ada@example.com used spk_0123456789abcdef_s3cr3tS3cr3tS3cr3t with Bearer abc.def-123456 "
        f"and {JWT} and sk-abcdefghijklmnopqrstuvwxyz"
    )
    clean = scrub_text(text)
    for leaked in (
        "ada@example.com",
        "spk_0123456789abcdef",
        "abc.def-123456",
        JWT[:20],
        "sk-abcdefgh",
    ):
        assert leaked not in clean
    assert clean.count("[") == 5


def test_scrub_redacts_secret_named_fields_at_any_depth() -> None:
    """Known secret fields are redacted whatever their value looks like."""
    data = {
        "user": {"password": "hunter2", "name": "ada", "api_key": "x"},
        "items": [{"token": "t"}, "mail bob@example.org"],
        "count": 3,
    }
    assert scrub(data) == {
        "user": {"password": "[redacted]", "name": "ada", "api_key": "[redacted]"},
        "items": [{"token": "[redacted]"}, "mail [email]"],
        "count": 3,
    }


def test_job_events_are_scrubbed_when_made() -> None:
    """The envelope built for a job never carries the raw address."""
    event = job_event(job(), EventType.FAILED, {"error": "could not mail ada@example.com"})
    assert "ada@example.com" not in json.dumps(event.envelope())


def test_events_are_frozen() -> None:
    """An event is a value."""
    event = Event(
        EventType.STARTED, uuid.uuid4(), JobKind.GENERATE_SCRIPT, EventFamily.RUNTIME, "s", {}
    )
    with pytest.raises(AttributeError):
        event.session_id = "t"  # type: ignore[misc]
