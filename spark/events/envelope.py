"""Making job and session events (CONTRACT §7): the stream, and the envelope for each thing
that happens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Json, TypeAdapter, ValidationError

from spark.contracts.events import EventEnvelope, InvalidEvent
from spark.domain.events import Event, EventFamily, EventType
from spark.domain.jobs import Job, JobState
from spark.domain.sessions import Session
from spark.kinds import spec_of
from spark.security.scrub import scrub

STREAM = "SPARK"
STREAM_SUBJECTS = ["spark.>"]
DLQ_SUBJECT = "spark.dlq"
#: types only a session's events have (a session's message event names the turn's job)
_SESSION_ONLY = frozenset({EventType.MESSAGE, EventType.ENDED})


def terminal_type(job: Job) -> EventType:
    """The event type for a finished job; only builds have a separate timeout subject."""
    if job.state is JobState.SUCCEEDED:
        return EventType.COMPLETED
    if job.state is JobState.CANCELED:
        return EventType.CANCELED
    if job.state is JobState.TIMED_OUT and spec_of(job.kind).family is EventFamily.BUILD:
        return EventType.TIMEOUT
    return EventType.FAILED


def job_event(job: Job, type_: EventType, data: Mapping[str, Any] | None = None) -> Event:
    """An event about job; its data is scrubbed here, before it can leave the process."""
    family = spec_of(job.kind).family
    return Event(type_, job.id, job.kind, family, job.session_id, scrub(dict(data or {})))


def outcome_event(job: Job) -> Event:
    """The terminal event of a finished job."""
    data: dict[str, Any] = {"state": job.state.value, "attempts": job.attempts}
    if job.started_at and job.finished_at:
        data["duration_s"] = round((job.finished_at - job.started_at).total_seconds(), 3)
    if job.error is not None:
        data["error"] = {"code": job.error.code, "message": job.error.message}
    if job.result is not None and "path" in job.result:
        data["path"] = job.result["path"]
    return job_event(job, terminal_type(job), data)


def decode_event(payload: bytes, subject: str | None = None) -> Event:
    """Parse and validate a message; InvalidEvent if it is not a well-formed event for subject."""
    try:
        envelope = EventEnvelope.model_validate_json(payload)
    except ValidationError as exc:
        raise InvalidEvent(str(exc.errors(include_url=False)[:3])) from None
    event = envelope.to_event(_family(envelope))
    if subject is not None and event.subject != subject:
        raise InvalidEvent(_wrong_subject(subject, event))
    return event


def _family(envelope: EventEnvelope) -> EventFamily:
    # A session's events carry the session family in their type; a job's, in its kind.
    if envelope.job_kind is None or envelope.type in _SESSION_ONLY:
        return EventFamily.SESSION
    return spec_of(envelope.job_kind).family


#: a whole batch of payloads validated in one call: each item is still parsed on its own
_PAYLOADS = TypeAdapter(list[Json[EventEnvelope]])


def decode_events(
    messages: Sequence[tuple[bytes, str]],
) -> tuple[list[Event], list[tuple[int, str]]]:
    """Validate a batch of (payload, subject): its events, and (index, reason) per invalid one.

    The consumer's path: one validation call per batch costs far less than one per message.
    """
    try:
        envelopes = _PAYLOADS.validate_python([payload for payload, _ in messages])
    except ValidationError:
        return _decode_each(messages)  # rare: find out which messages are bad, one by one
    events: list[Event] = []
    invalid: list[tuple[int, str]] = []
    for index, (envelope, (_, subject)) in enumerate(zip(envelopes, messages, strict=True)):
        event = envelope.to_event(_family(envelope))
        if event.subject == subject:
            events.append(event)
        else:
            invalid.append((index, _wrong_subject(subject, event)))
    return events, invalid


def _decode_each(
    messages: Sequence[tuple[bytes, str]],
) -> tuple[list[Event], list[tuple[int, str]]]:
    events: list[Event] = []
    invalid: list[tuple[int, str]] = []
    for index, (payload, subject) in enumerate(messages):
        try:
            events.append(decode_event(payload, subject))
        except InvalidEvent as exc:
            invalid.append((index, str(exc)))
    return events, invalid


def _wrong_subject(subject: str, event: Event) -> str:
    return f"subject {subject} does not match the envelope ({event.subject})"


def session_event(
    session: Session,
    type_: EventType,
    data: Mapping[str, Any] | None = None,
    job: Job | None = None,
) -> Event:
    """An event about session (about job too, for a turn's message); data scrubbed here."""
    return Event(
        type_,
        None if job is None else job.id,
        None if job is None else job.kind,
        EventFamily.SESSION,
        session.id,
        scrub(dict(data or {})),
    )
