"""generate_script on an OpenAI-compatible server, through the API and real workers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db import audit as audit_queries
from spark.db.executor import Database
from spark.web.app import create_app
from tests.support.fake_llm import DOOR_JOB, DOOR_SCRIPT, FakeLLM, Reply
from tests.support.jobs import TERMINAL, auth, stored, wait_state
from tests.support.nats import free_port
from tests.support.workers import WorkerProcess

BREAKER_RESET_S = "3"
BODY = DOOR_JOB


@pytest.fixture
def llm_settings(settings: Settings) -> Settings:
    """Settings with Redis for shared breakers, and a short breaker reset."""
    url = settings.require("broker_url").rsplit("/", 1)[0] + "/14"
    redis.Redis.from_url(url).flushdb()
    return settings.model_copy(update={"redis_url": url, "breaker_reset_s": 3.0})


def start_workers(
    settings: Settings, workdir: Path, llm_url: str, count: int
) -> list[WorkerProcess]:
    workers = [
        WorkerProcess(
            settings,
            workdir,
            queues="generation",
            concurrency=1,
            SPARK_LLM_BASE_URL=llm_url,
            SPARK_LLM_MODEL="fake-coder",
            SPARK_REDIS_URL=str(settings.redis_url),
            SPARK_BREAKER_RESET_S=BREAKER_RESET_S,
        )
        for _ in range(count)
    ]
    for worker in workers:
        worker.start()
    return workers


@pytest.fixture
def llm_client(llm_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(llm_settings), raise_server_exceptions=False) as c:
        yield c


def test_the_job_returns_the_models_code_and_records_its_tokens(
    llm_settings: Settings, llm_client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """Through a real worker: the job's code is the server's, its tokens and model are recorded."""
    fake = FakeLLM([Reply(DOOR_SCRIPT, prompt_tokens=321, completion_tokens=123)]).start()
    workers = start_workers(llm_settings, tmp_path, fake.base_url, 1)
    try:
        job_id = llm_client.post("/v1/jobs", json=BODY, headers=auth(api_key)).json()["id"]
        job = wait_state(db, job_id, TERMINAL)
    finally:
        for worker in workers:
            worker.stop()
        fake.stop()
    assert job.state.value == "succeeded", job.error
    assert job.result is not None and job.result["code"] == DOOR_SCRIPT
    assert job.result["tokens"] == {"prompt": 321, "completion": 123}
    assert job.result["provider"] == "openai-compatible" and job.result["model"] == "fake-coder"
    assert fake.seen[0].headers["user-agent"].startswith("OpenAI/Python")


def test_a_down_llm_opens_the_shared_breaker_and_waiting_jobs_succeed_when_it_returns(
    llm_settings: Settings, llm_client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """Server down: the breaker opens for both workers, jobs wait (never fail); back up: all succeed."""
    port = free_port()
    workers = start_workers(llm_settings, tmp_path, f"http://127.0.0.1:{port}/v1", 2)
    fake: FakeLLM | None = None
    try:
        ids = [
            llm_client.post("/v1/jobs", json=BODY, headers=auth(api_key)).json()["id"]
            for _ in range(4)
        ]
        deadline = time.monotonic() + 30
        health: dict[str, object] = {}
        while time.monotonic() < deadline:
            health = llm_client.get("/v1/health").json()
            if health["breakers"] == {"llm": "open"}:
                break
            time.sleep(0.2)
        assert health["breakers"] == {"llm": "open"}, health
        assert all(stored(db, i).state.value in {"queued", "running"} for i in ids)
        fake = FakeLLM([Reply(DOOR_SCRIPT)], port=port).start()
        finals = [wait_state(db, i, TERMINAL, timeout=60) for i in ids]
        assert [j.state.value for j in finals] == ["succeeded"] * 4, [j.error for j in finals]
        assert any(j.attempts > 1 for j in finals)
        assert llm_client.get("/v1/health").json()["breakers"] == {"llm": "closed"}
    finally:
        for worker in workers:
            worker.stop()
        if fake is not None:
            fake.stop()


def test_a_used_up_monthly_token_quota_refuses_the_next_generation(
    llm_settings: Settings, api_key: str, db: Database, tmp_path: Path
) -> None:
    """Each job is charged the tokens the server reported; past the month's quota the next
    generate_script is 429 quota_exceeded, with Retry-After, and the refusal is audited."""
    limited = llm_settings.model_copy(update={"tier_limits": {"pro": {"tokens_per_month": 800}}})
    fake = FakeLLM([Reply(DOOR_SCRIPT, prompt_tokens=300, completion_tokens=150)]).start()
    workers = start_workers(limited, tmp_path, fake.base_url, 1)
    try:
        with TestClient(create_app(limited), raise_server_exceptions=False) as client:
            for _ in range(2):
                job_id = client.post("/v1/jobs", json=BODY, headers=auth(api_key)).json()["id"]
                assert wait_state(db, job_id, TERMINAL).state.value == "succeeded"
            refused = client.post("/v1/jobs", json=BODY, headers=auth(api_key))
            usage = client.get("/v1/usage", headers=auth(api_key)).json()
    finally:
        for worker in workers:
            worker.stop()
        fake.stop()
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit-Limit"] == "800"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert usage["month"]["tokens"] == 900 and usage["limits"]["tokens_per_month"] == 800
    with db.transaction() as tx:
        assert "quota.exceeded" in [
            e.action for e in audit_queries.entries(tx, audit_queries.AuditFilters(actor="alice"))
        ]
