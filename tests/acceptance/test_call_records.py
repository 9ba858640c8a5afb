"""Calls and cost on record, through the API and a real prefork worker on the LLM stand-in:
the call records are the stand-in's own log of requests (count, tokens), `GET /v1/usage` and
the admin view price those tokens by SPARK_PRICES, and the worker's Prometheus counters move
by the same amounts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient
from typer.testing import CliRunner

from spark.cli import app as cli_app
from spark.config import ModelPrice, Settings
from spark.db import calls as call_queries
from spark.db.executor import Database
from spark.domain.principals import Permission, Tier
from spark.jobs import calls
from spark.llm.prices import cost_of
from spark.security.apikeys import create_key
from spark.web.app import create_app
from tests.support.fake_llm import DOOR_JOB, DOOR_SCRIPT, FakeLLM, Reply
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.services import free_port
from tests.support.workers import ApiProcess, WorkerProcess

MODEL = "fake-coder"
PRICES = {MODEL: {"in": 2.5, "out": 10.0}}
PRICE_TABLE = {MODEL: ModelPrice.model_validate(PRICES[MODEL])}
#: a script that does not parse: the generation's repair round follows it
BROKEN = "namespace Studio.Game { public class Door : MonoBehaviour { void Open( } }"
#: what the stand-in answers, in order: alice's job, alice's job with a repair, mallory's job
REPLIES = [
    Reply(DOOR_SCRIPT, prompt_tokens=321, completion_tokens=123),
    Reply(BROKEN, prompt_tokens=200, completion_tokens=41),
    Reply(DOOR_SCRIPT, prompt_tokens=456, completion_tokens=97),
    Reply(DOOR_SCRIPT, prompt_tokens=150, completion_tokens=60),
]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    resp = httpx.get(url, timeout=5.0)
    assert resp.status_code == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def moved(before: Samples, after: Samples, metric: str, **labels: str) -> float:
    key = (metric, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


@pytest.fixture
def priced_client(settings: Settings) -> Iterator[TestClient]:
    priced = settings.model_copy(update={"prices": PRICE_TABLE})
    with TestClient(create_app(priced), raise_server_exceptions=False) as c:
        yield c


def run_one(client: TestClient, db: Database, key: str) -> str:
    """Submit the door job with key and wait for it to succeed; its id."""
    job_id: str = client.post("/v1/jobs", json=DOOR_JOB, headers=auth(key)).json()["id"]
    job = wait_state(db, job_id, TERMINAL, timeout=30)
    assert job.state.value == "succeeded", job.error
    return job_id


def test_call_records_usage_cost_and_metrics_equal_the_llm_stand_ins_log(
    settings: Settings,
    priced_client: TestClient,
    db: Database,
    api_key: str,
    other_key: str,
    tmp_path: Path,
) -> None:
    """Three generate_script jobs, one with a repair round: four requests reach the stand-in,
    and four call records carry their tokens, in order, priced by the table; alice's and
    mallory's cost in /v1/usage and in the admin view is the table applied to their tokens;
    the worker's token and cost counters and its call-duration histogram move by as much."""
    fake = FakeLLM(list(REPLIES)).start()
    port = free_port()
    worker = WorkerProcess(
        settings,
        tmp_path,
        queues="generation",
        SPARK_LLM_BASE_URL=fake.base_url,
        SPARK_LLM_MODEL=MODEL,
        SPARK_PRICES=json.dumps(PRICES),
        SPARK_WORKER_METRICS_PORT=str(port),
    )
    worker.start()
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    try:
        before = scrape(metrics_url)
        # One at a time, so the stand-in's replies go to the jobs in this order.
        jobs = [run_one(priced_client, db, k) for k in (api_key, api_key, other_key)]
        after = scrape(metrics_url)
    finally:
        worker.stop()
        fake.stop()

    # The stand-in's own log: four requests, answered with REPLIES' tokens in order.
    assert len(fake.seen) == 4
    answered = [(r.prompt_tokens, r.completion_tokens) for r in REPLIES]
    records = [c for job in jobs for c in call_queries.calls_of_job(db, uuid.UUID(job))]
    assert [(c.tokens_in, c.tokens_out) for c in records] == answered
    assert [(c.kind, c.name, c.status, c.model) for c in records] == [
        ("llm", "generate", "ok", MODEL),
        ("llm", "generate", "ok", MODEL),
        ("llm", "repair", "ok", MODEL),
        ("llm", "generate", "ok", MODEL),
    ]
    costs = [cost_of(PRICE_TABLE, MODEL, i, o) for i, o in answered]
    assert [c.cost for c in records] == pytest.approx(costs)
    assert [c.owner for c in records] == ["alice", "alice", "alice", "mallory"]
    assert all(c.session_id == "default" and c.duration_s > 0 for c in records)

    alice_cost, mallory_cost = sum(costs[:3]), costs[3]
    mine = priced_client.get("/v1/usage", headers=auth(api_key)).json()["month"]
    assert mine["cost"] == pytest.approx(alice_cost)
    assert mine["tokens"] == sum(i + o for i, o in answered[:3])
    theirs = priced_client.get("/v1/usage", headers=auth(other_key)).json()["month"]
    assert theirs["cost"] == pytest.approx(mallory_cost)

    assert_admin_view(priced_client, db, mine["period"], answered, (alice_cost, mallory_cost))
    assert_metrics_moved(before, after, answered, sum(costs))


def assert_admin_view(
    client: TestClient,
    db: Database,
    period: str,
    answered: list[tuple[int, int]],
    cost: tuple[float, float],
) -> None:
    """The admin view lists alice then mallory (most tokens first) with their tokens and
    cost; a key without spark:admin is refused."""
    admin = create_key(db, "ops", Tier.ENTERPRISE, {Permission.ADMIN}).token
    resp = client.get("/v1/admin/usage", params={"month": period}, headers=auth(admin))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    alice_in, alice_out = (sum(t[k] for t in answered[:3]) for k in (0, 1))
    rows = [(u["user"], u["calls"], u["tokens_in"], u["tokens_out"]) for u in body["users"]]
    assert rows == [("alice", 3, alice_in, alice_out), ("mallory", 1, *answered[3])]
    assert [u["cost"] for u in body["users"]] == pytest.approx(list(cost))
    assert body["period"] == period and body["cost"] == pytest.approx(sum(cost))
    assert client.get("/v1/admin/usage", headers=auth(admin)).json()["period"] == period
    user_key = create_key(db, "plain", Tier.PRO, {Permission.READ}).token
    assert client.get("/v1/admin/usage", headers=auth(user_key)).status_code == 403
    bad = client.get("/v1/admin/usage", params={"month": "2026-13"}, headers=auth(admin))
    assert bad.status_code == 422


def assert_metrics_moved(
    before: Samples, after: Samples, answered: list[tuple[int, int]], cost: float
) -> None:
    """Tokens in and out and cost by model, and one observation per call by name and status."""
    tokens_in, tokens_out = (sum(t[k] for t in answered) for k in (0, 1))
    tokens = "spark_llm_tokens_total"
    assert moved(before, after, tokens, model=MODEL, direction="in") == tokens_in
    assert moved(before, after, tokens, model=MODEL, direction="out") == tokens_out
    assert moved(before, after, "spark_llm_cost_total", model=MODEL) == pytest.approx(cost)
    count = "spark_function_call_duration_seconds_count"
    assert moved(before, after, count, name="generate", status="ok") == 3
    assert moved(before, after, count, name="repair", status="ok") == 1
    ten = "spark_function_call_duration_seconds_bucket"
    assert moved(before, after, ten, name="repair", status="ok", le="10.0") == 1


def test_spark_usage_prints_the_callers_month_and_an_admins_view_by_user(
    api_server: ApiProcess, db: Database, api_key: str
) -> None:
    """`spark usage` shows the caller's cost this month; `--by-user` (admin) every user's
    tokens and cost, as a table and as JSON; a non-admin key is refused (exit 2, 403), and
    --month alone is a usage error."""
    alice = calls.CallRecord("alice", "llm", "generate", "ok", 0.3, model=MODEL, tokens_in=1000)
    bob = calls.CallRecord("bob", "llm", "assist", "ok", 0.2, model=MODEL, tokens_out=2000)
    costs = [calls.record(db, call, PRICE_TABLE) for call in (alice, bob)]
    admin = create_key(db, "ops", Tier.ENTERPRISE, {Permission.ADMIN}).token
    env = {"SPARK_API_URL": api_server.url, "SPARK_API_KEY": api_key}
    runner = CliRunner()
    mine = runner.invoke(cli_app, ["usage", "--json"], env=env)
    assert mine.exit_code == 0, mine.output
    assert json.loads(mine.stdout)["month"]["cost"] == pytest.approx(costs[0])
    everyone = runner.invoke(
        cli_app, ["usage", "--by-user", "--json"], env={**env, "SPARK_API_KEY": admin}
    )
    assert everyone.exit_code == 0, everyone.output
    users = json.loads(everyone.stdout)["users"]
    assert [(u["user"], u["tokens_in"], u["tokens_out"]) for u in users] == [
        ("bob", 0, 2000),
        ("alice", 1000, 0),
    ]
    assert [u["cost"] for u in users] == pytest.approx([costs[1], costs[0]])
    table = runner.invoke(cli_app, ["usage", "--by-user"], env={**env, "SPARK_API_KEY": admin})
    assert table.exit_code == 0 and "alice" in table.stdout and "bob" in table.stdout
    refused = runner.invoke(cli_app, ["usage", "--by-user", "--json"], env=env)
    assert refused.exit_code == 2
    assert json.loads(refused.stdout)["error"]["status"] == 403
    assert runner.invoke(cli_app, ["usage", "--month", "2026-11"], env=env).exit_code == 2
