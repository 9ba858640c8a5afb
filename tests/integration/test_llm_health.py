"""GET /v1/health asks the configured LLM server for its models, not just whether it is set."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from starlette.testclient import TestClient

from spark.config import Settings
from spark.web.app import create_app
from tests.support.fake_llm import FakeLLM, Reply
from tests.support.services import free_port


def health(settings: Settings) -> tuple[int, dict[str, Any]]:
    with TestClient(create_app(settings)) as client:
        resp = client.get("/v1/health")
    body: dict[str, Any] = resp.json()
    return resp.status_code, body


def with_llm(settings: Settings, base_url: str, **extra: Any) -> Settings:
    return settings.model_copy(
        update={"llm_base_url": base_url, "llm_api_key": SecretStr("sk-test"), **extra}
    )


def test_an_llm_server_that_lists_its_models_is_ok(settings: Settings) -> None:
    """The server answers GET /models (with the configured key): llm ok, the service healthy."""
    fake = FakeLLM([Reply("")]).start()
    try:
        status, body = health(with_llm(settings, fake.base_url))
    finally:
        fake.stop()
    assert status == 200 and body["checks"]["llm"] == "ok" and body["status"] == "healthy"
    assert [seen.headers["authorization"] for seen in fake.listed] == ["Bearer sk-test"]


def test_a_stopped_llm_server_leaves_the_service_degraded(settings: Settings) -> None:
    """Nothing answers at the LLM's URL any more: llm down, degraded, still 200 (jobs are
    taken; generations wait for the LLM)."""
    fake = FakeLLM([Reply("")]).start()
    fake.stop()
    status, body = health(with_llm(settings, fake.base_url))
    assert status == 200, body
    assert body["checks"]["llm"] == "down" and body["status"] == "degraded"
    assert body["checks"]["database"] == "ok" and body["checks"]["broker"] == "ok"


def test_the_llm_answer_is_reused_for_a_few_seconds(settings: Settings) -> None:
    """Health is polled often: back-to-back checks ask the LLM server once."""
    fake = FakeLLM([Reply("")]).start()
    try:
        configured = with_llm(settings, fake.base_url)
        with TestClient(create_app(configured)) as client:
            checks = [client.get("/v1/health").json()["checks"]["llm"] for _ in range(3)]
    finally:
        fake.stop()
    assert checks == ["ok"] * 3 and len(fake.listed) == 1


def test_no_llm_configured_is_offline_and_healthy(settings: Settings) -> None:
    """Without SPARK_LLM_BASE_URL the offline generator serves: llm offline, not down."""
    status, body = health(settings)
    assert status == 200 and body["checks"]["llm"] == "offline" and body["status"] == "healthy"


def test_a_database_that_is_down_is_unhealthy_whatever_the_llm_says(settings: Settings) -> None:
    """Postgres unreachable (a closed port) with the LLM up: 503 unhealthy, database down."""
    fake = FakeLLM([Reply("")]).start()
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/spark"
    try:
        status, body = health(with_llm(settings, fake.base_url, database_url=dead))
    finally:
        fake.stop()
    assert status == 503 and body["status"] == "unhealthy"
    assert body["checks"]["database"] == "down" and body["checks"]["llm"] == "ok"
