"""Build-end webhooks against a real HTTP receiver and real Postgres: signed, recorded, sent once."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import socket
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from spark.db import projects as project_queries
from spark.db import submissions as submission_queries
from spark.db import webhooks as webhook_queries
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.jobs import Job, JobKind, JobState
from spark.domain.projects import Delivery, Project, Webhook
from spark.projects import webhooks
from spark.security.destinations import ALLOW_SETTING, Destinations
from tests.support.builds import WebhookReceiver
from tests.support.services import free_port

SECRET = "receiver-shared-secret-0123456789"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A receiver on 127.0.0.1 that answers from `answers`, then 200."""
    with WebhookReceiver() as running:
        yield running


#: the receiver is on 127.0.0.1, which SPARK refuses unless told it is its own network
ALLOWED = Destinations(allow_private=True)
deliver = functools.partial(webhooks.deliver, destinations=ALLOWED)


def registered(db: Database, url: str) -> tuple[Project, Webhook]:
    """A stored project with one webhook to url."""
    project_id = uuid.uuid4()
    hook = Webhook(id=uuid.uuid4(), project_id=project_id, url=url, secret=SECRET)
    project = Project(
        id=project_id,
        owner="alice",
        name=f"game-{project_id.hex[:8]}",
        created_at=utcnow(),
        source_dir="/srv/unity/game",
        webhooks=(hook,),
    )
    with db.transaction() as tx:
        project_queries.insert_project(tx, project)
    return project, hook


def finished_build(project: Project) -> Job:
    """A build of project that has just succeeded."""
    now = utcnow()
    return Job(
        id=uuid.uuid4(),
        owner=project.owner,
        kind=JobKind.UNITY_BUILD,
        state=JobState.SUCCEEDED,
        params={"target": "StandaloneLinux64"},
        created_at=now,
        result={"result": "succeeded", "exit_code": 0, "duration_s": 42.0},
        attempts=1,
        project_id=project.id,
        started_at=now,
        finished_at=now,
    )


def attempts(db: Database, project: Project) -> list[Delivery]:
    with db.transaction() as tx:
        return webhook_queries.list_deliveries(tx, project.id, project.owner, 50)


def test_a_delivery_is_signed_so_the_receiver_can_verify_it(
    db: Database, receiver: WebhookReceiver
) -> None:
    """The receiver recomputes HMAC-SHA256 of the raw body and it matches the signature header."""
    project, hook = registered(db, receiver.url)
    job = finished_build(project)
    outcome = deliver(db, job, project, hook, attempt=1)
    assert outcome == webhooks.DeliveryOutcome(ok=True, status_code=200)
    [got] = receiver.received
    expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers[webhooks.SIGNATURE_HEADER], expected)
    assert got.path == "/hooks/build"
    assert got.headers["X-Spark-Event"] == "build.finished"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == "SPARK-Webhooks/1"
    delivery_id = webhooks.delivery_id(job.id, hook.id)
    assert got.headers["X-Spark-Delivery"] == str(delivery_id)
    body = json.loads(got.body)
    assert body["event"] == "build.finished" and body["delivery_id"] == str(delivery_id)
    assert body["project"] == {"id": str(project.id), "name": project.name}
    assert body["job"]["id"] == str(job.id) and body["job"]["state"] == "succeeded"
    assert body["job"]["links"]["self"] == f"/v1/jobs/{job.id}"
    assert SECRET.encode() not in got.body
    [row] = attempts(db, project)
    assert (row.ok, row.status_code, row.attempt, row.delivery_id) == (True, 200, 1, delivery_id)


def test_a_500_is_a_recorded_failure_and_a_later_attempt_succeeds(
    db: Database, receiver: WebhookReceiver
) -> None:
    """Attempt 1 gets a 500 with Retry-After; attempt 2 gets a 200; both are stored, newest first."""
    project, hook = registered(db, receiver.url)
    job = finished_build(project)
    receiver.answers.append((500, {"Retry-After": "7"}))
    first = deliver(db, job, project, hook, attempt=1)
    assert (first.ok, first.status_code, first.retry_after_s) == (False, 500, 7.0)
    assert first.error == "HTTP 500"
    second = deliver(db, job, project, hook, attempt=2)
    assert second.ok and second.status_code == 200
    newest, oldest = attempts(db, project)
    assert (newest.attempt, newest.ok, oldest.attempt, oldest.ok) == (2, True, 1, False)
    assert oldest.status_code == 500 and oldest.error == "HTTP 500"
    assert newest.delivery_id == oldest.delivery_id
    # the receiver sees one delivery id across the retries, so it can drop a repeat
    assert len({r.headers["X-Spark-Delivery"] for r in receiver.received}) == 1


def test_a_delivery_that_succeeded_is_not_sent_again(
    db: Database, receiver: WebhookReceiver
) -> None:
    """A redelivered task calling deliver after a success sends nothing and records nothing."""
    project, hook = registered(db, receiver.url)
    job = finished_build(project)
    assert deliver(db, job, project, hook, attempt=1).ok
    assert deliver(db, job, project, hook, attempt=2).ok
    assert len(receiver.received) == 1
    assert len(attempts(db, project)) == 1


def test_a_redirect_is_not_followed(db: Database, receiver: WebhookReceiver) -> None:
    """A 3xx is a failed attempt; the signed body never goes to the Location."""
    project, hook = registered(db, receiver.url)
    receiver.answers.append((302, {"Location": receiver.url + "/elsewhere"}))
    outcome = deliver(db, finished_build(project), project, hook, attempt=1)
    assert not outcome.ok and outcome.status_code == 302
    assert [r.path for r in receiver.received] == ["/hooks/build"]


def test_a_refused_connection_is_recorded_not_raised(db: Database) -> None:
    """With nothing listening, deliver returns a failure and stores it, without the secret."""
    project, hook = registered(db, f"http://127.0.0.1:{free_port()}/hooks/build")
    outcome = deliver(db, finished_build(project), project, hook, attempt=1, timeout_s=2)
    assert not outcome.ok and outcome.status_code is None and outcome.retry_after_s is None
    assert outcome.error and "ConnectError" in outcome.error and SECRET not in outcome.error
    [row] = attempts(db, project)
    assert (row.ok, row.status_code, row.error) == (False, None, outcome.error)


def test_the_delivery_id_is_stable_per_job_and_webhook() -> None:
    """The same job and webhook always give the same id; another webhook gives another."""
    job_id, hook_a, hook_b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert webhooks.delivery_id(job_id, hook_a) == webhooks.delivery_id(job_id, hook_a)
    assert webhooks.delivery_id(job_id, hook_a) != webhooks.delivery_id(job_id, hook_b)
    assert webhooks.sign("k", b"{}") == (
        "sha256=" + hmac.new(b"k", b"{}", hashlib.sha256).hexdigest()
    )


def stored_build(db: Database, project: Project) -> Job:
    """A finished build as the scheduler finds it: a terminal row in the jobs table."""
    job = finished_build(project)
    with db.transaction() as tx:
        submission_queries.insert_jobs(tx, [submission_queries.Submission(job, "")])
    with db.transaction() as tx:
        tx.run(
            text("UPDATE jobs SET state = :state, finished_at = :now WHERE id = :id"),
            {"state": job.state.value, "now": job.finished_at, "id": job.id},
        )
    return job


def age_attempts(db: Database, seconds: float) -> None:
    """Pretend every recorded attempt (and its retry time) came seconds earlier."""
    with db.transaction() as tx:
        tx.run(
            text(
                "UPDATE webhook_deliveries SET created_at = created_at - make_interval(secs => :s),"
                " not_before = not_before - make_interval(secs => :s)"
            ),
            {"s": seconds},
        )


def test_the_scheduler_retries_a_failed_delivery_only_after_its_backoff(
    db: Database, receiver: WebhookReceiver
) -> None:
    """A 500 is tried again only once the first backoff has passed, then not after a 2xx."""
    project, _ = registered(db, receiver.url)
    stored_build(db, project)
    receiver.answers.append((500, {}))
    assert webhooks.deliver_due(db, destinations=ALLOWED) == 1
    assert webhooks.deliver_due(db, destinations=ALLOWED) == 0, "retried before the backoff"
    age_attempts(db, webhooks.BACKOFF_S[0] + 1)
    assert webhooks.deliver_due(db, destinations=ALLOWED) == 1
    age_attempts(db, 3600)
    assert webhooks.deliver_due(db, destinations=ALLOWED) == 0, "delivered again after a success"
    assert [a.ok for a in reversed(attempts(db, project))] == [False, True]
    assert len(receiver.received) == 2


def test_a_receivers_longer_retry_after_is_honoured(
    db: Database, receiver: WebhookReceiver
) -> None:
    """503 with Retry-After: 40 — not retried after the 5 s backoff, only after the 40 s."""
    project, _ = registered(db, receiver.url)
    stored_build(db, project)
    receiver.answers.append((503, {"Retry-After": "40"}))
    assert webhooks.deliver_due(db, destinations=ALLOWED) == 1
    age_attempts(db, webhooks.BACKOFF_S[0] + 1)
    assert webhooks.deliver_due(db, destinations=ALLOWED) == 0, "retried before Retry-After"
    age_attempts(db, 40)
    assert webhooks.deliver_due(db, destinations=ALLOWED) == 1
    assert [a.ok for a in reversed(attempts(db, project))] == [False, True]


def test_two_schedulers_never_send_the_same_attempt(
    db: Database, receiver: WebhookReceiver
) -> None:
    """The attempt's row is inserted before sending: the second claimant gets nothing to do."""
    project, hook = registered(db, receiver.url)
    job = stored_build(db, project)
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: deliver(db, job, project, hook, 1), range(4)))
    # The others found the attempt claimed (None) or already answered (ok, nothing sent).
    assert all(outcome is None or outcome.ok for outcome in outcomes)
    assert len(receiver.received) == 1 and len(attempts(db, project)) == 1


def test_a_private_destination_is_refused_and_the_refusal_recorded(
    db: Database, receiver: WebhookReceiver
) -> None:
    """By default nothing is sent to 127.0.0.1 (or any private address); the attempt says why."""
    project, hook = registered(db, receiver.url)
    outcome = webhooks.deliver(db, finished_build(project), project, hook, attempt=1)
    assert outcome is not None and not outcome.ok
    assert receiver.received == []
    [attempt] = attempts(db, project)
    assert attempt.ok is False and attempt.error is not None
    assert "127.0.0.1" in attempt.error and ALLOW_SETTING in attempt.error


def test_a_name_that_now_resolves_to_a_private_address_is_refused_at_delivery(
    db: Database,
) -> None:
    """Registered while its name pointed elsewhere: each attempt resolves it again, and an
    answer inside the private network stops the delivery."""
    project, hook = registered(db, "https://hooks.ci.test/spark")
    rebound = Destinations(resolve=lambda host, port: ["203.0.113.7", "10.1.2.3"])
    outcome = webhooks.deliver(
        db, finished_build(project), project, hook, attempt=1, destinations=rebound
    )
    assert outcome is not None and not outcome.ok
    [attempt] = attempts(db, project)
    assert attempt.error is not None and "hooks.ci.test" in attempt.error
    assert "10.1.2.3" in attempt.error and ALLOW_SETTING in attempt.error


def test_a_name_that_does_not_resolve_at_delivery_is_not_sent(db: Database) -> None:
    """Nothing is sent where the check could not see the addresses; the attempt says why."""

    def no_answer(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    project, hook = registered(db, "https://gone.ci.test/spark")
    outcome = webhooks.deliver(
        db, finished_build(project), project, hook, 1, destinations=Destinations(resolve=no_answer)
    )
    assert outcome is not None and not outcome.ok
    [attempt] = attempts(db, project)
    assert attempt.error is not None and "gone.ci.test does not resolve" in attempt.error


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://[::1]:8080/",
        "http://localhost/hook",
        "http://[::ffff:10.0.0.1]/",
    ],
)
def test_private_and_local_destinations_are_recognised(url: str) -> None:
    """Metadata services, private ranges, loopback and local names are all refused."""
    assert Destinations().refusal(url) is not None


def test_a_public_literal_address_is_allowed() -> None:
    """A global address passes without a lookup."""
    assert Destinations().refusal("https://93.184.216.34/hooks") is None
