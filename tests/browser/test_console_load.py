"""The console's first load: what it transfers, and how soon Activity shows 100 jobs.

The figures are printed (pytest -s shows them) and written to the test's output folder as
load.json, so the notes can cite the numbers of a real run.
"""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import Response

from tests.browser.conftest import Console
from tests.support.fake_llm import DOOR_JOB

JOBS = 100
#: compressed bytes the first load may transfer, everything it fetched until Activity shows
MAX_FIRST_LOAD_BYTES = 150_000
#: from navigation start until the 100th job's row is in the page
MAX_TO_ACTIVITY_S = 1.0
#: the 100th row of the jobs table, as the page's own clock sees it
HUNDREDTH_ROW = f"""() => {{
  const rows = document.querySelectorAll("table.jobs tbody tr").length;
  if (rows >= {JOBS} && !window.__shownAt) window.__shownAt = performance.now();
  return window.__shownAt;
}}"""


def _finished_jobs(api: httpx.Client, count: int) -> None:
    """count generate_script jobs, waited for: their results (code) are the heaviest rows."""
    ids = []
    for _ in range(count):
        resp = api.post("/v1/jobs", json=DOOR_JOB)
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["id"])
    # each job's event stream ends with its terminal event
    for job_id in ids:
        with api.stream(
            "GET", f"/v1/jobs/{job_id}/events", headers={"Accept": "text/event-stream"}
        ) as stream:
            for _ in stream.iter_lines():
                pass
    done = api.get("/v1/jobs", params={"limit": count}).json()["items"]
    assert all(job["state"] == "succeeded" for job in done), done


def _transferred(response: Response) -> int:
    sizes = response.request.sizes()
    return int(sizes["responseHeadersSize"] + sizes["responseBodySize"])


def test_first_load_is_small_and_activity_shows_100_jobs_within_a_second(
    console: Console, key: str, api: httpx.Client
) -> None:
    _finished_jobs(api, JOBS)
    page = console.page
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))

    # the first load, from an empty cache: the page, sign-in, Activity with its jobs
    console.sign_in(key)
    page.wait_for_function(HUNDREDTH_ROW, polling="raf")
    # the live feed's stream never ends: its body is not part of a load
    finished = [r for r in responses if not r.url.endswith("/v1/events")]
    by_url = {r.url.removeprefix(console.base_url): _transferred(r) for r in finished}
    first_load = sum(by_url.values())

    # the key already in the tab: a reload, timed by the page from its navigation start
    page.reload()
    shown_ms = float(page.wait_for_function(HUNDREDTH_ROW, polling="raf").json_value())
    rows = page.locator("table.jobs tbody tr").count()

    figures = {
        "first_load_bytes": first_load,
        "first_load_requests": len(finished),
        "first_load_by_url": by_url,
        "reload_to_activity_with_100_jobs_s": round(shown_ms / 1000, 3),
        "rows": rows,
    }
    (console.output / "load.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(
        f"\nfirst load: {first_load} bytes in {len(finished)} requests; "
        f"Activity with {rows} jobs after a reload: {shown_ms / 1000:.3f} s"
    )
    console.shot("activity")
    assert rows >= JOBS
    assert first_load <= MAX_FIRST_LOAD_BYTES, figures
    assert shown_ms / 1000 <= MAX_TO_ACTIVITY_S, figures
