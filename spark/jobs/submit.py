"""Submitting a job: quota checks, row and outbox in one transaction, then the message."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spark.broker.dispatch import Dispatcher
from spark.broker.outbox import SentMarks
from spark.broker.sending import Sender
from spark.config import TierLimits
from spark.db import outbox as outbox_queries
from spark.db import projects as project_queries
from spark.db import submissions as submission_queries
from spark.db import usage as usage_queries
from spark.db.aio import AsyncDatabase
from spark.db.errors import UniqueViolation
from spark.db.executor import Database
from spark.db.submissions import NO_LIMIT
from spark.db.types import utcnow
from spark.domain.farm import FarmReader, waiting_message
from spark.domain.jobs import Job, JobKind, JobState, Progress
from spark.errors import IdempotencyConflict, NotFound
from spark.jobs import reads, sessions
from spark.kinds import Quota, queue_of, spec_of
from spark.projects import files
from spark.security import quotas

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewJob:
    """A validated request to run a job."""

    owner: str
    kind: JobKind
    params: Mapping[str, Any]
    #: the API key id or JWT subject acting for owner
    subject: str | None = None
    session_id: str = "default"
    project_id: uuid.UUID | None = None
    #: the owner's job this one is a step of; set only by SPARK's own jobs, never by the API
    parent_id: uuid.UUID | None = None
    priority: int = 5
    idempotency_key: str | None = None
    #: hash of the request as the caller sent it, to tell a retry from a different request
    request_hash: str = ""
    #: the caller's tier limits; None submits without quota checks
    limits: TierLimits | None = None
    #: the X-Request-ID of the submitting request, kept so the worker's lines name it too
    request_id: str | None = None


@dataclass(frozen=True)
class Submitted:
    """The job, and whether this call created it (False: an idempotent replay)."""

    job: Job
    created: bool


def request_hash(body: Mapping[str, Any]) -> str:
    """A stable hash of a request body, independent of key order and whitespace."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def submit(
    db: Database, dispatcher: Dispatcher, new: NewJob, marks: SentMarks | None = None
) -> Submitted:
    """Store the job and its outbox row, then send its message; the relay covers a failed send.

    With marks, the outbox row is marked sent in a later batch instead of a second transaction.
    """
    done = store(db, new)
    if done.created:
        send_stored(db, dispatcher, done.job, marks)
    return done


async def accept(
    adb: AsyncDatabase, sender: Sender, new: NewJob, farm: FarmReader | None = None
) -> Submitted:
    """The API's submit: the job stored (without a thread hop when nothing needs a
    transaction of its own or a look at the farm), its message left to the sender's thread."""
    plain = new.idempotency_key is None and new.project_id is None and new.parent_id is None
    if plain and not _slot_checked(new) and not spec_of(new.kind).per_target:
        await sessions.admit_job(adb, new.owner, new.session_id)
        job = queued_job(new)
        await _insert_now(adb, new, job)
        done = Submitted(job, created=True)
    else:
        done = await adb.in_thread(store, adb.db, new, farm)
    if done.created:
        await sender.send(done.job)
    return done


async def _insert_now(adb: AsyncDatabase, new: NewJob, job: Job) -> None:
    """Insert job, its token quota checked by the same statement (spark/db/submissions.py)."""
    submission = _submission(new, job)
    if await submission_queries.insert_job_now(adb, submission):
        return
    # Refused: read what was used, for the error's details.
    tokens, _ = await usage_queries.read_month_usage(adb, new.owner, submission.period)
    raise quotas.tokens_exceeded(submission.token_limit, tokens, job.created_at)


def _submission(new: NewJob, job: Job) -> submission_queries.Submission:
    """job as inserted: under its owner's token quota when its kind counts tokens."""
    limited = new.limits is not None and Quota.LLM_TOKENS in spec_of(new.kind).quotas
    limit = new.limits.tokens_per_month if new.limits is not None and limited else NO_LIMIT
    period = quotas.month_of(job.created_at)
    queue = queue_of(new.kind, new.params)
    return submission_queries.Submission(
        job, new.request_hash, new.idempotency_key, limit, period, queue
    )


def _slot_checked(new: NewJob) -> bool:
    # A verify's steps are builds: its submission is refused while builds fill the tier.
    quotas = spec_of(new.kind).quotas_for(new.params)
    return new.limits is not None and Quota.CONCURRENT_BUILDS in quotas


def queued_job(new: NewJob, message: str = "") -> Job:
    """The job new asks for, as it is inserted: queued, with a new id."""
    return Job(
        id=uuid.uuid4(),
        owner=new.owner,
        subject=new.subject,
        kind=new.kind,
        state=JobState.QUEUED,
        params=new.params,
        created_at=utcnow(),
        session_id=new.session_id,
        project_id=new.project_id,
        parent_id=new.parent_id,
        priority=new.priority,
        request_id=new.request_id,
        progress=Progress(0, message),
    )


def _waiting(new: NewJob, farm: FarmReader | None) -> str:
    """The progress message a farm job starts with: waiting, when no live builder declares
    its target (the maintenance step keeps it true afterwards)."""
    target = spec_of(new.kind).target_of(new.params)
    if target is None or farm is None:
        return ""
    try:
        declared = farm.read().declared()
    except Exception:
        # The farm's registry is a hint here; the maintenance step sets the message later.
        log.warning("could not read the farm registry", exc_info=True)
        return ""
    return "" if target in declared else waiting_message(target)


def store(db: Database, new: NewJob, farm: FarmReader | None = None) -> Submitted:
    """Store the job and its outbox row after the quota checks (or find the earlier job
    under the same Idempotency-Key); nothing is sent. With farm, a job for a target no live
    builder declares says it waits for one."""
    replay = _replay(db, new)
    if replay is not None:
        return replay
    if new.project_id is not None:
        _check_project(db, new.owner, new.project_id)
        _check_base_version(db, new.project_id, new.params)
    if new.parent_id is not None:
        _check_parent(db, new.owner, new.parent_id)
    sessions.admit_job_now(db, new.owner, new.session_id)
    job = queued_job(new, _waiting(new, farm))
    submission = _submission(new, job)
    slot = _slot_checked(new)
    try:
        with submission_queries.insertion(db, checked=slot) as tx:
            if slot:
                assert new.limits is not None
                quotas.hold_build_slot(tx, new.owner, new.limits)
            [inserted] = submission_queries.insert_jobs(tx, [submission])
    except UniqueViolation:
        # Another request with the same Idempotency-Key committed first.
        replay = _replay(db, new)
        if replay is None:
            raise
        return replay
    if not inserted:
        tokens, _ = usage_queries.month_usage(db, new.owner, submission.period)
        raise quotas.tokens_exceeded(submission.token_limit, tokens, job.created_at)
    return Submitted(job, created=True)


def _check_parent(db: Database, owner: str, parent_id: uuid.UUID) -> None:
    # A step belongs to its parent's owner: a job never hangs under another user's job.
    if reads.owned(db, parent_id, owner) is None:
        raise NotFound("parent_id: no such job", details={"field": "parent_id"})


def _check_project(db: Database, owner: str, project_id: uuid.UUID) -> None:
    # A job may only name the caller's own project; someone else's is as unknown as none.
    with db.autocommit() as tx:
        if project_queries.get_project(tx, project_id, owner) is None:
            raise NotFound("project_id: no such project", details={"field": "project_id"})


def _check_base_version(db: Database, project_id: uuid.UUID, params: Mapping[str, Any]) -> None:
    # A file edit pinned to a version the file has already moved past can only fail: refuse
    # it now with a 409 instead of queueing a job that ends version_conflict. The job still
    # checks again when it writes, since another write may land in between.
    base, path = params.get("base_version"), params.get("path")
    if isinstance(base, int) and isinstance(path, str):
        files.check_head(db, project_id, path, base)


def _replay(db: Database, new: NewJob) -> Submitted | None:
    if new.idempotency_key is None:
        return None
    found = submission_queries.find_by_idempotency_key(db, new.owner, new.idempotency_key)
    if found is None:
        return None
    job, stored_hash = found
    if stored_hash != new.request_hash:
        raise IdempotencyConflict()
    return Submitted(job, created=False)


def send_stored(db: Database, dispatcher: Dispatcher, job: Job, marks: SentMarks | None) -> None:
    """Send the message of a job stored with its outbox row, and mark the row sent."""
    try:
        dispatcher.send(job.id, job.kind, job.priority, queue_of(job.kind, job.params))
    except Exception:
        # The job is accepted and its outbox row is committed: the relay will send it.
        log.warning("dispatch of job %s failed; the relay will retry", job.id, exc_info=True)
        return
    if marks is not None:
        marks.add(job.id)
        return
    outbox_queries.mark_sent(db, [job.id], utcnow())
