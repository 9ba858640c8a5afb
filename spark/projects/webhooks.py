"""Build-end webhooks: a signed JSON POST per webhook, each attempt recorded, success sent once.

Receivers verify `X-Spark-Signature-256` (GitHub's scheme: `sha256=` + hex HMAC-SHA256 of the
raw body under the webhook's secret) and drop repeats by `X-Spark-Delivery`, which is the same
on every attempt at one job's webhook.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx

from spark.contracts.jobs import JobOut
from spark.db import jobs as job_queries
from spark.db import projects as project_queries
from spark.db import webhooks as webhook_queries
from spark.db.errors import UniqueViolation
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.jobs import Job
from spark.domain.projects import Delivery, Project, Webhook
from spark.errors import NotFound
from spark.kinds import REGISTRY
from spark.security.destinations import ALLOW_HINT, Destinations

SIGNATURE_HEADER = "X-Spark-Signature-256"
EVENT_HEADER = "X-Spark-Event"
DELIVERY_HEADER = "X-Spark-Delivery"
EVENT = "build.finished"
USER_AGENT = "SPARK-Webhooks/1"
#: seconds to wait before attempts 2, 3, …; the task uses the last one for any later attempt
BACKOFF_S = (5, 30, 120, 600, 1800)
MAX_ATTEMPTS = 6
#: the kinds whose end a project's webhooks hear about
_NOTIFYING = frozenset(spec.kind for spec in REGISTRY.values() if spec.notifies_webhooks)
#: by default no webhook reaches a private address
_STRICT = Destinations()
#: builds that ended longer ago than this are no longer announced
DELIVERY_WINDOW = timedelta(days=1)
#: an attempt unanswered this long past its timeout is taken as lost with its sender
ABANDONED_AFTER_S = 30.0
#: a receiver may ask for a pause, but not one that outlives the retry schedule
MAX_RETRY_AFTER_S = 3600.0
#: fixed, so a delivery's id is the same in every process and on every attempt
_DELIVERY_NAMESPACE = uuid.UUID("5a1c7e0e-8f0b-4d55-9a43-7b3c2d9e6f10")
_MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class DeliveryOutcome:
    """How one attempt went; retry_after_s is the receiver's Retry-After, if it sent one."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    retry_after_s: float | None = None


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of body under secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_id(job_id: uuid.UUID, webhook_id: uuid.UUID) -> uuid.UUID:
    """The id of one job's delivery to one webhook, the same on every attempt."""
    return uuid.uuid5(_DELIVERY_NAMESPACE, f"{job_id}:{webhook_id}")


def payload(job: Job, project: Project, delivery: uuid.UUID) -> bytes:
    """The compact JSON body: event, delivery id, project, and the job as the API shows it."""
    body = {
        "event": EVENT,
        "delivery_id": str(delivery),
        "project": {"id": str(project.id), "name": project.name},
        "job": JobOut.from_job(job).model_dump(mode="json"),
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def headers(secret: str, body: bytes, delivery: uuid.UUID) -> dict[str, str]:
    """The headers one delivery is sent with."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: EVENT,
        DELIVERY_HEADER: str(delivery),
        SIGNATURE_HEADER: sign(secret, body),
    }


def deliver(
    db: Database,
    job: Job,
    project: Project,
    webhook: Webhook,
    attempt: int,
    *,
    timeout_s: float = 10.0,
    destinations: Destinations = _STRICT,
) -> DeliveryOutcome | None:
    """Send attempt number attempt unless an earlier one succeeded, and record how it went.

    The attempt's row is inserted before sending, so two schedulers never both send it:
    the second gets None. HTTP failures come back as an outcome, never as an exception.
    """
    did = delivery_id(job.id, webhook.id)
    claimed = _started_attempt(job, webhook, attempt, did)
    try:
        with db.transaction() as tx:
            if webhook_queries.delivery_succeeded(tx, did):
                # A redelivered task, or one retried after a success it could not report.
                return DeliveryOutcome(ok=True)
            webhook_queries.claim_attempt(tx, claimed)
    except UniqueViolation:
        return None
    body = payload(job, project, did)
    started = time.monotonic()
    # Checked again at each attempt: what the name resolves to may have changed.
    refused = destinations.refusal(webhook.url)
    if refused is not None:
        # Recorded like any failed attempt, so the owner sees why nothing arrived.
        outcome = DeliveryOutcome(ok=False, error=f"not sent: {refused} ({ALLOW_HINT})")
    else:
        outcome = _post(webhook, body, headers(webhook.secret, body, did), timeout_s)
    elapsed_ms = int((time.monotonic() - started) * 1000)
    retry_at = None if outcome.ok else utcnow() + _wait_after(attempt, outcome.retry_after_s)
    webhook_queries.complete_attempt(
        db, claimed.id, outcome.ok, outcome.status_code, outcome.error, elapsed_ms, retry_at
    )
    return outcome


def _wait_after(attempt: int, retry_after_s: float | None) -> timedelta:
    """How long after failed attempt number attempt the next may start: the backoff, or the
    receiver's Retry-After when it asked for longer."""
    backoff = BACKOFF_S[min(attempt, len(BACKOFF_S)) - 1]
    return timedelta(seconds=max(backoff, retry_after_s or 0))


def _started_attempt(job: Job, webhook: Webhook, attempt: int, did: uuid.UUID) -> Delivery:
    """The row that claims an attempt: its outcome unknown until the receiver answers."""
    return Delivery(
        id=uuid.uuid4(),
        delivery_id=did,
        webhook_id=webhook.id,
        url=webhook.url,
        job_id=job.id,
        attempt=attempt,
        ok=None,
        status_code=None,
        error=None,
        duration_ms=0,
        created_at=utcnow(),
    )


def deliver_due(
    db: Database,
    *,
    timeout_s: float = 10.0,
    window: timedelta = DELIVERY_WINDOW,
    limit: int = 50,
    destinations: Destinations = _STRICT,
) -> int:
    """Send every due attempt for builds that ended within window; how many were sent."""
    now = utcnow()
    due = webhook_queries.due_deliveries(db, _NOTIFYING, now - window, MAX_ATTEMPTS, limit)
    sent = 0
    for item in due:
        if not _is_due(item, now, timeout_s):
            continue
        with db.transaction() as tx:
            job = job_queries.get_job(tx, item.job_id)
            project = project_queries.get_project_for_worker(tx, item.project_id)
        webhook = (
            next((w for w in project.webhooks if w.id == item.webhook_id), None)
            if project
            else None
        )
        if job is None or project is None or webhook is None:
            continue
        attempt = item.attempts + 1
        done = deliver(
            db, job, project, webhook, attempt, timeout_s=timeout_s, destinations=destinations
        )
        sent += done is not None
    return sent


def deliveries(db: Database, project_id: uuid.UUID, owner: str, limit: int) -> list[Delivery]:
    """Up to limit of the attempts at owner's project's webhooks, newest first; NotFound
    when owner has no such project."""
    with db.read() as tx:
        if project_queries.get_project(tx, project_id, owner) is None:
            raise NotFound("no such project")
        return webhook_queries.list_deliveries(tx, project_id, owner, limit)


def _is_due(item: webhook_queries.DueDelivery, now: datetime, timeout_s: float) -> bool:
    """Whether the next attempt's time has come (backoff after a failure)."""
    if item.attempts == 0 or item.last_attempt_at is None:
        return True
    since = now - item.last_attempt_at
    if item.in_flight:
        # Its sender may have died mid-request: only then does the next attempt start.
        return since > timedelta(seconds=timeout_s + ABANDONED_AFTER_S)
    if item.not_before is not None:
        return now >= item.not_before
    # A failed attempt recorded without its retry time: the plain backoff.
    return since >= timedelta(seconds=BACKOFF_S[min(item.attempts, len(BACKOFF_S)) - 1])


def _post(webhook: Webhook, body: bytes, sent: dict[str, str], timeout_s: float) -> DeliveryOutcome:
    """POST body to the webhook; any answer or failure becomes an outcome, never an exception."""
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
            response = client.post(webhook.url, content=body, headers=sent)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        # a malformed URL or host name surfaces as InvalidURL or ValueError (IDNA), not HTTPError
        return DeliveryOutcome(ok=False, error=_describe(exc, webhook))
    if response.is_success:
        return DeliveryOutcome(ok=True, status_code=response.status_code)
    error = f"HTTP {response.status_code}"
    if response.is_redirect:
        error += " (redirects are not followed)"
    return DeliveryOutcome(
        ok=False,
        status_code=response.status_code,
        error=error,
        retry_after_s=_retry_after(response.headers.get("retry-after")),
    )


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, capped; None if absent or not a number (HTTP dates are ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _describe(exc: Exception, webhook: Webhook) -> str:
    """The failure as stored and shown to the owner, with the secret and URL credentials blanked."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    hidden = [webhook.secret]
    try:
        parts = urlsplit(webhook.url)
        hidden += [p for p in (parts.password, parts.username) if p]
    except ValueError:
        pass
    for secret in hidden:
        text = text.replace(secret, "***")
    return text[:_MAX_ERROR_CHARS]
