"""SQLAlchemy 2.0 typed models: jobs, the dispatch outbox, API keys, events, projects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from spark.db.types import JsonDoc, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names, so migrations can name them."""

    metadata = MetaData(naming_convention=NAMING)


class JobRow(Base):
    """One job: its request, its state, its outcome."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
        Index("ix_jobs_owner_created", "owner", "created_at", "id"),
        Index("ix_jobs_state_heartbeat", "state", "heartbeat_at"),
        # webhook delivery looks for a project's recently finished builds
        Index("ix_jobs_project_finished", "project_id", "finished_at"),
        # the concurrent-build quota counts a user's unfinished builds
        Index("ix_jobs_owner_kind_state", "owner", "kind", "state"),
        # a parent's steps, listed in order (GET /v1/jobs?parent_id=…)
        Index("ix_jobs_parent_created", "parent_id", "created_at", "id"),
        # parents waiting for a child, scanned by the upkeep that continues them
        Index("ix_jobs_waiting_on", "waiting_on", postgresql_where=text("waiting_on IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    #: the API key id or JWT subject that submitted the job (its writes are authored so)
    subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    progress_percent: Mapped[int] = mapped_column(SmallInteger, default=0)
    progress_message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    session_id: Mapped[str] = mapped_column(String(64), default="default")
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    priority: Mapped[int] = mapped_column(SmallInteger, default=5)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: the X-Request-ID of the request that submitted the job, for the worker's log lines
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the job that started this one as a step of its own (verify steps, a session's calls)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: the child a parent waits for, holding no worker (spark/jobs/children.py)
    waiting_on: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: what the parent carries from one child to the next (its written files, each step's outcome)
    continuation: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OutboxRow(Base):
    """A job's dispatch, written with the job; the claim deletes it, the relay re-sends it."""

    __tablename__ = "job_outbox"

    job_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(SmallInteger, default=5)
    #: the broker queue the job's message goes to (a build's names its target); rows written
    #: before queues were routed per job have none and use their kind's queue
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sends: Mapped[int] = mapped_column(Integer, default=0)


class ApiKeyRow(Base):
    """An API key; only a hash of the secret is kept."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user: Mapped[str] = mapped_column(String(128), index=True)
    tier: Mapped[str] = mapped_column(String(16))
    permissions: Mapped[list[str]] = mapped_column(JsonDoc)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class EventRow(Base):
    """A stored event; the table is range-partitioned by month on ts (see migration 0002).

    The primary key includes ts because a partitioned table's unique keys must; an event's
    ts never changes, so (id, ts) is as unique as id and ON CONFLICT still dedupes.
    """

    __tablename__ = "spark_events"
    __table_args__ = (
        Index("ix_spark_events_job", "job_id", "ts"),
        # a user's live stream reads all their jobs' recent events by time
        Index("ix_spark_events_ts", "ts", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    #: NULL on a session's started and ended events, which are about no job
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    job_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    session_id: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)


class EventOutboxRow(Base):
    """An event NATS could not take yet; the relay publishes and deletes it."""

    __tablename__ = "event_outbox"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    subject: Mapped[str] = mapped_column(String(255))
    envelope: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class DeadLetterRow(Base):
    """A message that could be neither delivered nor stored as an event, kept for operators."""

    __tablename__ = "event_dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ProjectRow(Base):
    """A user's Unity project: where its files come from, and its unity-mcp endpoint."""

    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("owner", "name", name="uq_projects_owner_name"),
        Index("ix_projects_owner_created", "owner", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(100))
    source_dir: Mapped[str | None] = mapped_column(Text, nullable=True)
    git_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    default_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    unity_mcp_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    unity_instance: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SessionRow(Base):
    """A user's session: a conversation whose turns and tool calls are jobs (session_id)."""

    __tablename__ = "spark_sessions"
    __table_args__ = (
        Index("ix_spark_sessions_owner_created", "owner", "created_at", "id"),
        # the quota counts a user's open sessions; the idle sweep reads the open ones by age
        Index(
            "ix_spark_sessions_open_active",
            "last_active_at",
            postgresql_where=text("state = 'open'"),
        ),
    )

    #: "ses_" and 24 hex digits, minted by SPARK
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: the project its jobs work on by default; not a foreign key, so a session outlives it
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: open | ended
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: user | idle
    ended_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)


class ProjectSecretRow(Base):
    """A project's write-only secret (e.g. `android_signing`), sealed with SPARK_SECRETS_KEY:
    only builders open it, for the build that needs it."""

    __tablename__ = "project_secrets"

    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: which key sealed it (a fingerprint, never the key), so a rotated key set still opens it
    key_id: Mapped[str] = mapped_column(String(16))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookRow(Base):
    """A URL told when one of the project's builds ends; the secret signs each delivery."""

    __tablename__ = "project_webhooks"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDeliveryRow(Base):
    """One attempt to deliver a build's end to a webhook; delivery_id is the same every attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_webhook_job", "webhook_id", "job_id"),
        # An attempt is claimed by inserting its row: two schedulers cannot both send it.
        UniqueConstraint("delivery_id", "attempt", name="uq_webhook_deliveries_delivery_attempt"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("project_webhooks.id", ondelete="CASCADE")
    )
    job_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    attempt: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: a failed attempt's backoff, or the receiver's Retry-After if longer: no retry before it
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class UsageRecordRow(Base):
    """What one finished job used, for billing and rollups: tokens, model, time."""

    __tablename__ = "usage_records"
    __table_args__ = (Index("ix_usage_records_owner_created", "owner", "created_at"),)

    job_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    model: Mapped[str | None] = mapped_column(String(255), nullable=True)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UsageCounterRow(Base):
    """A user's running totals for one calendar month (UTC), read by the token quota."""

    __tablename__ = "usage_counters"

    owner: Mapped[str] = mapped_column(String(128), primary_key=True)
    #: YYYY-MM
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    jobs: Mapped[int] = mapped_column(Integer, default=0)


class CallRow(Base):
    """One LLM or tool call: who made it, in which session and job, what it cost."""

    __tablename__ = "spark_function_calls"
    __table_args__ = (
        Index("ix_spark_function_calls_owner_ts", "owner", "ts"),
        Index("ix_spark_function_calls_ts", "ts"),
        Index("ix_spark_function_calls_job_id", "job_id"),
        Index("ix_spark_function_calls_session_id", "session_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    owner: Mapped[str] = mapped_column(String(128))
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: llm | tool
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    duration_s: Mapped[float] = mapped_column(Float)
    tokens_in: Mapped[int] = mapped_column(Integer)
    tokens_out: Mapped[int] = mapped_column(Integer)
    #: priced when recorded (SPARK_PRICES then), so a later price change leaves it as it was
    cost: Mapped[float] = mapped_column(Float)


class AuditRow(Base):
    """A security-relevant action: keys created or revoked, permission denied, quota exceeded."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_actor_at", "actor", "at"),
        Index("ix_audit_log_action_at", "action", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(64))
    #: the user acting (or acted for, for CLI key management)
    actor: Mapped[str | None] = mapped_column(String(128), nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    target: Mapped[str | None] = mapped_column(String(255), nullable=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, nullable=True)


class FileBlobRow(Base):
    """A file's bytes, stored once per distinct SHA-256 however many versions share them."""

    __tablename__ = "file_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FileVersionRow(Base):
    """One version of one project file: append-only, numbered 1…N per path."""

    __tablename__ = "file_versions"

    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(512), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), ForeignKey("file_blobs.sha256"), index=True)
    size: Mapped[int] = mapped_column(Integer)
    #: the user, and the key id or JWT subject that acted for them
    author: Mapped[str] = mapped_column(String(128))
    author_subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    message: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: a tombstone: the path was deleted at this version (listing and content hide it,
    #: history shows it, rollback to an earlier version restores the file)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class ProjectFileRow(Base):
    """A project file's newest version: what listings read and writers compare and set."""

    __tablename__ = "project_files"

    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(512), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobsHourRow(Base):
    """Jobs that ended in one UTC hour, by kind and final state (spark/db/rollups.py)."""

    __tablename__ = "rollup_jobs_hourly"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    jobs: Mapped[int] = mapped_column(Integer)
    #: run time (started → finished) and queue wait (created → started); none without a start
    duration_p50_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration_p95_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    wait_p50_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    wait_p95_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class TokensHourRow(Base):
    """LLM tokens recorded in one UTC hour, by user and model ('' when none was named)."""

    __tablename__ = "rollup_tokens_hourly"
    __table_args__ = (Index("ix_rollup_tokens_hourly_owner_hour", "owner", "hour"),)

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    owner: Mapped[str] = mapped_column(String(128), primary_key=True)
    model: Mapped[str] = mapped_column(String(255), primary_key=True)
    jobs: Mapped[int] = mapped_column(Integer)
    tokens_in: Mapped[int] = mapped_column(BigInteger)
    tokens_out: Mapped[int] = mapped_column(BigInteger)


class CallsHourRow(Base):
    """LLM and tool calls recorded in one UTC hour, by user and model ('' for none)."""

    __tablename__ = "rollup_calls_hourly"
    __table_args__ = (Index("ix_rollup_calls_hourly_hour", "hour"),)

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    owner: Mapped[str] = mapped_column(String(128), primary_key=True)
    model: Mapped[str] = mapped_column(String(255), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer)
    tokens_in: Mapped[int] = mapped_column(BigInteger)
    tokens_out: Mapped[int] = mapped_column(BigInteger)
    cost: Mapped[float] = mapped_column(Float)


class BuildsHourRow(Base):
    """Builds that ended in one UTC hour, by target and result."""

    __tablename__ = "rollup_builds_hourly"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    target: Mapped[str] = mapped_column(String(64), primary_key=True)
    result: Mapped[str] = mapped_column(String(16), primary_key=True)
    builds: Mapped[int] = mapped_column(Integer)
    duration_p95_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class RollupMarkRow(Base):
    """How far the hourly rollups have got: every hour before `rolled_until` is rolled up."""

    __tablename__ = "rollup_marks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    rolled_until: Mapped[datetime] = mapped_column(UTCDateTime)
