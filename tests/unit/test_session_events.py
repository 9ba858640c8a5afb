"""Sessions' ids, their events' subjects and envelopes, and their page cursors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from spark.contracts.events import InvalidEvent
from spark.domain.events import EventType
from spark.domain.jobs import Job, JobKind, JobState
from spark.domain.sessions import Session, SessionState, may_be_session, new_session_id
from spark.errors import ValidationFailed
from spark.events.envelope import decode_event, decode_events, session_event
from spark.web.cursors import after_session, decode_after_session

NOW = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)


def session(title: str | None = None) -> Session:
    return Session(new_session_id(), "alice", SessionState.OPEN, NOW, NOW, title)


def test_minted_ids_fit_the_contracts_session_pattern_and_only_they_name_sessions() -> None:
    ids = {new_session_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(may_be_session(i) and len(i) == 28 for i in ids)
    for label in ("default", "level-1", "ses_", "ses_" + "G" * 24, "ses_" + "a" * 25):
        assert not may_be_session(label)


@pytest.mark.parametrize("type_", [EventType.STARTED, EventType.ENDED])
def test_a_sessions_own_events_name_no_job_and_go_on_the_session_tree(type_: EventType) -> None:
    s = session()
    event = session_event(s, type_, {"state": "open"})
    assert event.subject == f"spark.session.{type_.value}.{s.id}"
    envelope = event.envelope()
    assert envelope["job_id"] is None and envelope["job_kind"] is None
    decoded = decode_event(event.encode(), event.subject)
    assert decoded == event


def test_a_message_event_names_the_turns_job() -> None:
    s = session()
    turn = Job(uuid.uuid4(), "alice", JobKind.GENERATE_SCRIPT, JobState.QUEUED, {}, NOW)
    event = session_event(s, EventType.MESSAGE, {"text": "hi"}, turn)
    assert event.subject == f"spark.session.message.{s.id}"
    assert event.job_id == turn.id
    events, invalid = decode_events([(event.encode(), event.subject)])
    assert events == [event] and invalid == []


def test_a_session_event_on_a_job_subject_is_invalid() -> None:
    s = session()
    event = session_event(s, EventType.STARTED)
    with pytest.raises(InvalidEvent):
        decode_event(event.encode(), f"spark.runtime.unity.started.{s.id}")


def test_session_events_are_scrubbed() -> None:
    event = session_event(session(), EventType.STARTED, {"title": "write to ann@example.com"})
    assert "ann@example.com" not in event.encode().decode()


def test_a_session_cursor_round_trips_and_nothing_else_passes() -> None:
    sid = new_session_id()
    assert decode_after_session(after_session(NOW, sid)) == (NOW, sid)
    for bad in ("", "x", after_session(NOW, "default"), after_session(NOW, "ses_x")):
        with pytest.raises(ValidationFailed):
            decode_after_session(bad)
