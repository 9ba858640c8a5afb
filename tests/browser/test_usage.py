"""The Usage panel: tier, this month's tokens after a generate job, and the 30-day chart of
tokens per day from the rollups, with a bar for today."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from playwright.sync_api import expect

from spark.db import rollups
from spark.db.executor import Database
from tests.browser.conftest import Console
from tests.support.fake_llm import DOOR_JOB
from tests.support.jobs import TERMINAL, wait_state


def roll_up_this_hour(db: Database) -> None:
    """What the scheduled rollup does for an hour once it is over, done now for this one."""
    hour = rollups.hour_floor(datetime.now(UTC))
    with db.transaction() as tx:
        rollups.roll_up(tx, hour - rollups.HOUR, hour + rollups.HOUR)


def test_usage_shows_the_tier_the_months_tokens_and_a_bar_for_today(
    db: Database, api: httpx.Client, key: str, console: Console
) -> None:
    resp = api.post("/v1/jobs", json=DOOR_JOB)
    assert resp.status_code == 202, resp.text
    job = wait_state(db, resp.json()["id"], TERMINAL, timeout=60)
    assert job.state.value == "succeeded", job.error
    roll_up_this_hour(db)

    page = console.page
    console.sign_in(key)
    console.go("Usage")
    expect(page.locator(".tier")).to_have_text("pro")
    month = page.get_by_role("article").filter(has_text="This month")
    tokens = int(month.locator("[data-used]").get_attribute("data-used") or "0")
    assert tokens > 0
    expect(page.get_by_role("meter", name="tokens this month")).to_be_visible()
    expect(page.get_by_text("resets").first).to_be_visible()

    chart = page.get_by_role("img", name="Tokens per day over the last 30 days")
    expect(chart.locator("rect.bar")).to_have_count(30)
    today = datetime.now(UTC).date().isoformat()
    bar = chart.locator(f'rect[data-date="{today}"]')
    assert int(bar.get_attribute("data-tokens") or "0") == tokens
    assert float(bar.get_attribute("height") or "0") > 0
    page.get_by_text("As a table").click()
    expect(page.get_by_role("table", name="Tokens per day")).to_contain_text(today)
    expect(page.get_by_role("table", name="Limits")).to_contain_text("LLM tokens per month")
    console.shot("usage")
