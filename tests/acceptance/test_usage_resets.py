"""GET /v1/usage says when the limits start over: daily ones at the next UTC midnight,
monthly ones when the next UTC month starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from spark.config import Settings
from spark.web.app import create_app
from spark.web.routes.usage import resets_after
from tests.support.jobs import auth


def test_usage_names_the_next_utc_midnight_and_month_start(
    settings: Settings, api_key: str
) -> None:
    before = datetime.now(UTC)
    with TestClient(create_app(settings)) as client:
        resp = client.get("/v1/usage", headers=auth(api_key))
    after = datetime.now(UTC)
    assert resp.status_code == 200, resp.text
    resets = resp.json()["resets"]
    day, month = datetime.fromisoformat(resets["day"]), datetime.fromisoformat(resets["month"])
    assert day.utcoffset() == timedelta(0) and month.utcoffset() == timedelta(0)
    assert (day.hour, day.minute, day.second, day.microsecond) == (0, 0, 0, 0)
    assert before < day <= after + timedelta(days=1)
    assert month.day == 1 and month.time() == day.time()
    assert before < month <= after + timedelta(days=31) and month >= day


def test_resets_roll_over_the_year_and_short_months() -> None:
    new_year = resets_after(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert (new_year.day, new_year.month) == ("2027-01-01T00:00:00+00:00",) * 2
    february = resets_after(datetime(2028, 2, 29, 12, 0, tzinfo=UTC))
    assert february.day == "2028-03-01T00:00:00+00:00"
    assert february.month == "2028-03-01T00:00:00+00:00"
    mid = resets_after(datetime(2026, 1, 31, 8, 0, tzinfo=UTC))
    assert (mid.day, mid.month) == ("2026-02-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00")
    plain = resets_after(datetime(2026, 6, 10, 8, 0, tzinfo=UTC))
    assert (plain.day, plain.month) == ("2026-06-11T00:00:00+00:00", "2026-07-01T00:00:00+00:00")
