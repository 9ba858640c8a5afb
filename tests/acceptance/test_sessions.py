"""Sessions as things: opened, listed, read with their jobs and usage, ended by their user
or when idle; their events stored once; another user's session is unknown everywhere."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from starlette.testclient import TestClient
from typer.testing import CliRunner

from spark.cli import app as cli_app
from spark.config import ModelPrice, Settings
from spark.db.executor import Database
from spark.domain.events import Event
from spark.domain.principals import DEFAULT_PERMISSIONS, Tier
from spark.jobs import sessions
from spark.llm.prices import cost_of
from spark.security.apikeys import create_key
from spark.web.app import create_app
from tests.acceptance.test_metrics import delta, scrape_api, value
from tests.support.endings import wait_for
from tests.support.jobs import TERMINAL, TURRET, auth, wait_state
from tests.support.services import free_port
from tests.support.workers import ApiProcess, WorkerProcess

PRICES = {"spark-offline-1": ModelPrice.model_validate({"in": 2.0, "out": 8.0})}


@pytest.fixture
def priced_client(settings: Settings) -> Iterator[TestClient]:
    """The API in-process, with a price for the offline generator's model."""
    app = create_app(settings.model_copy(update={"prices": PRICES}))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def open_session(client: TestClient, key: str, **body: Any) -> dict[str, Any]:
    resp = client.post("/v1/sessions", json=body, headers=auth(key))
    assert resp.status_code == 201, resp.text
    opened: dict[str, Any] = resp.json()
    return opened


def stored_session_events(db: Database, session_id: str) -> list[tuple[str, Any]]:
    with db.transaction() as tx:
        rows = tx.all(
            text(
                "SELECT type, job_id FROM spark_events WHERE session_id = :s"
                " AND subject LIKE 'spark.session.%' ORDER BY ts"
            ),
            {"s": session_id},
        )
    return [(r.type, r.job_id) for r in rows]


def test_a_session_opens_lists_reads_and_ends_once(client: TestClient, api_key: str) -> None:
    opened = open_session(client, api_key, title="Jumping player")
    session_id = opened["id"]
    assert session_id.startswith("ses_") and len(session_id) == 28
    assert opened["state"] == "open" and opened["title"] == "Jumping player"
    assert opened["ended_at"] is None and opened["project_id"] is None
    assert opened["links"]["self"] == f"/v1/sessions/{session_id}"

    shown = client.get(f"/v1/sessions/{session_id}", headers=auth(api_key)).json()
    assert shown["messages"] == []
    assert shown["jobs"] == {"items": [], "next_cursor": None}
    assert shown["usage"]["jobs"] == 0 and shown["usage"]["tokens"] == 0

    second = open_session(client, api_key)
    listed = client.get("/v1/sessions", headers=auth(api_key)).json()
    assert [s["id"] for s in listed["items"]] == [second["id"], session_id]

    ended = client.post(f"/v1/sessions/{session_id}/end", headers=auth(api_key))
    assert ended.status_code == 200
    assert ended.json()["state"] == "ended" and ended.json()["ended_reason"] == "user"
    again = client.post(f"/v1/sessions/{session_id}/end", headers=auth(api_key))
    assert again.status_code == 409 and again.json()["error"]["code"] == "session_ended"

    open_only = client.get("/v1/sessions?state=open", headers=auth(api_key)).json()
    assert [s["id"] for s in open_only["items"]] == [second["id"]]


def test_sessions_page_newest_first_with_a_cursor(client: TestClient, api_key: str) -> None:
    ids = [open_session(client, api_key)["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = ""
    while True:
        page = client.get(f"/v1/sessions?limit=2&cursor={cursor}", headers=auth(api_key)).json()
        seen += [s["id"] for s in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert seen == ids[::-1]
    bad = client.get("/v1/sessions?cursor=bm90LW91cnM", headers=auth(api_key))
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "cursor"


def test_another_users_session_is_not_found_anywhere(
    client: TestClient, api_key: str, other_key: str, db: Database
) -> None:
    theirs = open_session(client, other_key)["id"]
    assert client.get(f"/v1/sessions/{theirs}", headers=auth(api_key)).status_code == 404
    assert client.post(f"/v1/sessions/{theirs}/end", headers=auth(api_key)).status_code == 404
    listed = client.get("/v1/sessions", headers=auth(api_key)).json()
    assert listed["items"] == []
    job = client.post("/v1/jobs", json={**TURRET, "session_id": theirs}, headers=auth(api_key))
    assert job.status_code == 404 and job.json()["error"]["details"]["field"] == "session_id"
    with db.transaction() as tx:
        assert tx.scalar(text("SELECT count(*) FROM jobs")) == 0
    # theirs is still open, and still theirs
    shown = client.get(f"/v1/sessions/{theirs}", headers=auth(other_key)).json()
    assert shown["state"] == "open"
    assert client.get("/v1/sessions/not-a-session", headers=auth(api_key)).status_code == 404


def test_a_project_that_is_not_the_callers_is_refused(
    client: TestClient, api_key: str, other_key: str
) -> None:
    made = client.post("/v1/projects", json={"name": "theirs"}, headers=auth(other_key))
    assert made.status_code == 201, made.text
    project_id = made.json()["id"]
    refused = client.post("/v1/sessions", json={"project_id": project_id}, headers=auth(api_key))
    assert refused.status_code == 404
    assert refused.json()["error"]["details"]["field"] == "project_id"
    mine = open_session(client, other_key, project_id=project_id)
    assert mine["project_id"] == project_id


def test_jobs_into_an_ended_session_are_refused_and_free_labels_stay_free(
    client: TestClient, api_key: str, db: Database
) -> None:
    session_id = open_session(client, api_key)["id"]
    before = client.get(f"/v1/sessions/{session_id}", headers=auth(api_key)).json()
    accepted = client.post(
        "/v1/jobs", json={**TURRET, "session_id": session_id}, headers=auth(api_key)
    )
    assert accepted.status_code == 202
    after = client.get(f"/v1/sessions/{session_id}", headers=auth(api_key)).json()
    stamp = datetime.fromisoformat
    assert stamp(after["last_active_at"]) > stamp(before["last_active_at"])
    assert [j["id"] for j in after["jobs"]["items"]] == [accepted.json()["id"]]

    client.post(f"/v1/sessions/{session_id}/end", headers=auth(api_key))
    for extra in ({}, {"priority": 7}, {"project_id": None}):
        refused = client.post(
            "/v1/jobs", json={**TURRET, "session_id": session_id, **extra}, headers=auth(api_key)
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "session_ended"
    keyed = client.post(
        "/v1/jobs",
        json={**TURRET, "session_id": session_id},
        headers={**auth(api_key), "Idempotency-Key": "after-the-end"},
    )
    assert keyed.status_code == 409

    for label in ("default", "level-1", "ses_" + "0" * 24):
        free = client.post("/v1/jobs", json={**TURRET, "session_id": label}, headers=auth(api_key))
        assert free.status_code == 202, (label, free.text)
    with db.transaction() as tx:
        assert tx.scalar(text("SELECT count(*) FROM spark_sessions")) == 1


def test_a_sessions_jobs_and_usage_come_from_its_jobs_usage_records(
    priced_client: TestClient, api_key: str, db: Database, worker: WorkerProcess
) -> None:
    session_id = open_session(priced_client, api_key)["id"]
    ids = []
    for _ in range(3):
        resp = priced_client.post(
            "/v1/jobs", json={**TURRET, "session_id": session_id}, headers=auth(api_key)
        )
        ids.append(resp.json()["id"])
    outside = priced_client.post("/v1/jobs", json=TURRET, headers=auth(api_key)).json()["id"]
    for job_id in [*ids, outside]:
        assert wait_state(db, job_id, TERMINAL).state.value == "succeeded"

    shown = priced_client.get(f"/v1/sessions/{session_id}?limit=2", headers=auth(api_key))
    body = shown.json()
    assert [j["id"] for j in body["jobs"]["items"]] == ids[::-1][:2]
    rest = priced_client.get(
        f"/v1/sessions/{session_id}?limit=2&cursor={body['jobs']['next_cursor']}",
        headers=auth(api_key),
    ).json()
    assert [j["id"] for j in rest["jobs"]["items"]] == ids[:1]

    with db.transaction() as tx:
        row = tx.one(
            text(
                "SELECT sum(tokens_in) AS t_in, sum(tokens_out) AS t_out FROM usage_records"
                " WHERE job_id = ANY(CAST(:ids AS uuid[]))"
            ),
            {"ids": ids},
        )
    usage = body["usage"]
    assert row.t_in > 0 and row.t_out > 0
    assert (usage["jobs"], usage["tokens_in"], usage["tokens_out"]) == (3, row.t_in, row.t_out)
    assert usage["tokens"] == row.t_in + row.t_out
    assert usage["cost"] == pytest.approx(cost_of(PRICES, "spark-offline-1", row.t_in, row.t_out))
    assert usage["unpriced_models"] == []


def test_a_sessions_events_are_stored_once_and_reach_its_owners_feed_only(
    client: TestClient, api_key: str, other_key: str, db: Database
) -> None:
    session_id = open_session(client, api_key, title="mail me at ann@example.com")["id"]
    client.post(f"/v1/sessions/{session_id}/end", headers=auth(api_key))
    wait_for(lambda: len(stored_session_events(db, session_id)) >= 2, "both events stored")
    assert stored_session_events(db, session_id) == [("started", None), ("ended", None)]

    feed = client.get("/v1/events", headers=auth(api_key)).json()["items"]
    mine = [e for e in feed if e["session_id"] == session_id]
    assert [e["type"] for e in mine] == ["started", "ended"]
    assert mine[0]["job_id"] is None and mine[0]["job_kind"] is None
    assert "ann@example.com" not in json.dumps(mine)
    assert mine[1]["data"]["reason"] == "user"
    others = client.get("/v1/events", headers=auth(other_key)).json()["items"]
    assert all(e["session_id"] != session_id for e in others)


def backdate(db: Database, session_ids: list[str], seconds: int) -> None:
    with db.transaction() as tx:
        tx.run(
            text(
                "UPDATE spark_sessions SET last_active_at = last_active_at - make_interval("
                "secs => :s) WHERE id = ANY(:ids)"
            ),
            {"s": seconds, "ids": session_ids},
        )


def test_ending_a_session_frees_its_slot_for_a_free_tier_user(
    client: TestClient, db: Database
) -> None:
    key = create_key(db, "frugal", Tier.FREE, DEFAULT_PERMISSIONS).token
    first = open_session(client, key)["id"]
    refused = client.post("/v1/sessions", json={}, headers=auth(key))
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"]["quota"] == "concurrent sessions"
    assert (error["details"]["limit"], error["details"]["used"]) == (1, 1)
    assert int(refused.headers["Retry-After"]) > 0
    client.post(f"/v1/sessions/{first}/end", headers=auth(key))
    open_session(client, key)


@pytest.fixture(scope="module")
def two_apis(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two `spark api` processes on one database and one Redis."""
    workdir = tmp_path_factory.mktemp("session-apis")
    apis = [ApiProcess(settings, workdir, free_port()) for _ in range(2)]
    for api in apis:
        api.start()
    yield [api.url for api in apis]
    for api in apis:
        api.stop()


def test_the_concurrent_sessions_quota_holds_across_two_api_processes(
    two_apis: list[str], db: Database
) -> None:
    """A free-tier user with a session open on one API process is refused a second on the
    other, naming the quota; ending the first lets the second open. Ten opened at once
    across both admit exactly one."""
    key = create_key(db, "free-user", Tier.FREE, DEFAULT_PERMISSIONS).token
    first_api, second_api = two_apis
    with httpx.Client(timeout=30, headers=auth(key)) as http:
        first = http.post(f"{first_api}/v1/sessions", json={"title": "one"})
        assert first.status_code == 201
        refused = http.post(f"{second_api}/v1/sessions", json={"title": "two"})
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "quota_exceeded"
        assert error["details"]["quota"] == "concurrent sessions"
        assert "concurrent sessions" in error["message"]
        ended = http.post(f"{second_api}/v1/sessions/{first.json()['id']}/end")
        assert ended.status_code == 200
        second = http.post(f"{second_api}/v1/sessions", json={"title": "two"})
        assert second.status_code == 201
        http.post(f"{first_api}/v1/sessions/{second.json()['id']}/end")

    racer = create_key(db, "racing-user", Tier.FREE, DEFAULT_PERMISSIONS).token
    statuses = asyncio.run(_open_at_once(two_apis, racer, 10))
    assert sorted(statuses) == [201] + [429] * 9
    with db.transaction() as tx:
        count = tx.scalar(text("SELECT count(*) FROM spark_sessions WHERE owner = 'racing-user'"))
    assert count == 1


async def _open_at_once(urls: list[str], key: str, count: int) -> list[int]:
    async with httpx.AsyncClient(timeout=30, headers=auth(key)) as http:
        calls = [http.post(f"{urls[i % len(urls)]}/v1/sessions", json={}) for i in range(count)]
        return [r.status_code for r in await asyncio.gather(*calls)]


def test_spark_session_new_show_list_end_as_text_and_json(
    api_server: ApiProcess, api_key: str, other_key: str, client: TestClient
) -> None:
    """`spark session new|show|list|end`, each with --json; an ended session's end exits 2
    with the 409, another user's session is a 404."""
    env = {"SPARK_API_URL": api_server.url, "SPARK_API_KEY": api_key}
    runner = CliRunner()
    project = client.post("/v1/projects", json={"name": "lantern"}, headers=auth(api_key))
    made = runner.invoke(
        cli_app,
        ["session", "new", "--title", "Lantern", "--project", "lantern", "--json"],
        env=env,
    )
    assert made.exit_code == 0, made.output
    opened = json.loads(made.stdout)
    assert opened["title"] == "Lantern" and opened["project_id"] == project.json()["id"]
    plain = runner.invoke(cli_app, ["session", "new"], env=env)
    assert plain.exit_code == 0, plain.output
    second = plain.stdout.strip()
    assert second.startswith("ses_")

    shown = runner.invoke(cli_app, ["session", "show", opened["id"], "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.stdout)
    assert body["messages"] == [] and body["usage"]["tokens"] == 0
    text_view = runner.invoke(cli_app, ["session", "show", opened["id"]], env=env)
    assert "Lantern" in text_view.stdout and "0 jobs" in text_view.stdout

    listed = runner.invoke(cli_app, ["session", "list", "--json"], env=env)
    assert [s["id"] for s in json.loads(listed.stdout)["items"]] == [second, opened["id"]]
    table = runner.invoke(cli_app, ["session", "list", "--state", "open"], env=env)
    assert table.exit_code == 0 and opened["id"] in table.stdout

    ended = runner.invoke(cli_app, ["session", "end", opened["id"], "--json"], env=env)
    assert ended.exit_code == 0 and json.loads(ended.stdout)["state"] == "ended"
    again = runner.invoke(cli_app, ["session", "end", opened["id"], "--json"], env=env)
    assert again.exit_code == 2
    assert json.loads(again.stdout)["error"]["code"] == "session_ended"
    theirs = runner.invoke(
        cli_app, ["session", "show", second, "--json"], env={**env, "SPARK_API_KEY": other_key}
    )
    assert theirs.exit_code == 2 and json.loads(theirs.stdout)["error"]["status"] == 404


def test_a_sessions_messages_are_its_turns_words_and_answers_oldest_first(
    client: TestClient, api_key: str, db: Database, worker: WorkerProcess
) -> None:
    session_id = open_session(client, api_key)["id"]
    said = ["sing me a song about the sea", "what is the weather like on Mars"]
    ids = []
    for words in said:
        body = {"kind": "assist", "params": {"text": words}, "session_id": session_id}
        resp = client.post("/v1/jobs", json=body, headers=auth(api_key))
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["id"])
        wait_state(db, ids[-1], TERMINAL, timeout=60)
    answers = [
        client.get(f"/v1/jobs/{job_id}", headers=auth(api_key)).json()["result"]["text"]
        for job_id in ids
    ]
    shown = client.get(f"/v1/sessions/{session_id}", headers=auth(api_key)).json()
    assert shown["messages"] == [
        {"role": "user", "text": said[0], "job_id": ids[0]},
        {"role": "assistant", "text": answers[0], "job_id": ids[0]},
        {"role": "user", "text": said[1], "job_id": ids[1]},
        {"role": "assistant", "text": answers[1], "job_id": ids[1]},
    ]
    assert [j["id"] for j in shown["jobs"]["items"]] == ids[::-1]


class _Kept:
    """An event sink that keeps what it is handed (the sweep's events are staged anyway)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)

    def committed(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def flush(self, timeout_s: float = 2.0) -> bool:
        return True

    def close(self) -> None:
        pass


def test_sessions_opened_are_counted_and_the_sweep_sets_how_many_are_open(
    client: TestClient, api_key: str, other_key: str, db: Database
) -> None:
    before = scrape_api(client)
    for key in (api_key, api_key, other_key):
        open_session(client, key)
    refused = create_key(db, "capped", Tier.FREE, DEFAULT_PERMISSIONS).token
    open_session(client, refused)
    assert client.post("/v1/sessions", json={}, headers=auth(refused)).status_code == 429
    after = scrape_api(client)
    assert delta(before, after, "spark_session_connects_total") == 4

    kept = _Kept()
    assert sessions.end_idle(db, kept, idle_s=3600) == 0
    assert value(scrape_api(client), "spark_sessions_active") == 4
    backdate(db, [s["id"] for s in _listed(client, other_key)], 7200)
    assert sessions.end_idle(db, kept, idle_s=3600) == 1
    assert value(scrape_api(client), "spark_sessions_active") == 3
    assert [(e.type.value, e.data["reason"]) for e in kept.events] == [("ended", "idle")]


def _listed(client: TestClient, key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/v1/sessions", headers=auth(key)).json()["items"]
    return items
