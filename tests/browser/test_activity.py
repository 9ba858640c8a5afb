"""Activity and the job page: a person submits a generate into a project and watches it finish."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import Console


def test_a_generate_submitted_in_the_console_finishes_live_in_activity(
    key: str, project_id: str, console: Console
) -> None:
    # console last: its page closes before the database is emptied after the test
    page = console.page
    console.sign_in(key)
    console.go("Activity")
    page.get_by_role("heading", name="Activity").wait_for()
    # the live feed is open before the job is submitted (the shell marks it on the page)
    page.locator("html[data-feed='live']").wait_for(state="attached")
    # a marker a reload or a navigation away would lose
    page.evaluate("window.__stayed = true")

    form = page.get_by_role("form", name="Generate a script")
    form.get_by_label("Prompt").fill("a door that opens when the player comes near")
    form.get_by_label("Class name").fill("Door")
    form.get_by_label("Namespace").fill("Studio.Game")
    form.get_by_label("Project", exact=True).select_option(value=project_id)
    form.get_by_label("Write to project").check()
    form.get_by_role("button", name="Submit").click()

    submitted = form.get_by_role("status").get_by_role("link")
    expect(submitted).to_have_text(re.compile(r"^generate_script [0-9a-f]{8}$"))
    label = submitted.inner_text()
    row = (
        page.get_by_role("table", name="Jobs")
        .get_by_role("row")
        .filter(has=page.get_by_role("link", name=label))
    )
    expect(row).to_have_count(1)
    expect(row.locator(".state")).to_have_text("succeeded", timeout=60_000)
    expect(row.get_by_role("progressbar")).to_have_attribute("value", "100")
    assert page.evaluate("window.__stayed") is True, "the page reloaded or navigated away"
    console.shot("activity")

    row.get_by_role("link", name=label).click()
    page.get_by_role("heading", name=re.compile(r"^generate_script")).wait_for()
    result = page.get_by_role("region", name="Result")
    expect(result).to_contain_text("public class Door : MonoBehaviour")
    expect(result).to_contain_text("Assets/Scripts/Door.cs")
    events = page.get_by_role("list", name="Events")
    expect(events.locator("li[data-type='completed']")).to_have_count(1)
    expect(events.locator("li[data-type='started']")).to_have_count(1)
    assert page.evaluate("window.__stayed") is True
    console.shot("job")


def test_activity_filters_live_in_the_url_and_survive_a_reload(console: Console, key: str) -> None:
    page = console.page
    console.sign_in(key)
    console.go("Activity")
    filters = page.get_by_role("search", name="Filter jobs")
    filters.get_by_label("State", exact=True).select_option("failed")
    filters.get_by_label("Kind", exact=True).select_option("unity_build")
    expect(page).to_have_url(re.compile(r"/console/activity\?kind=unity_build&state=failed$"))
    page.reload()
    filters = page.get_by_role("search", name="Filter jobs")
    expect(filters.get_by_label("Kind", exact=True)).to_have_value("unity_build")
    expect(filters.get_by_label("State", exact=True)).to_have_value("failed")


def test_a_build_job_page_follows_its_log_and_downloads_its_artifact(
    api: httpx.Client, key: str, project_id: str, console: Console
) -> None:
    body = {"kind": "unity_build", "project_id": project_id, "params": {"target": "WebGL"}}
    resp = api.post("/v1/jobs", json=body)
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    page = console.page
    console.sign_in(key)
    console.go("Activity")
    page.get_by_role("link", name=f"unity_build {job_id[:8]}").click()
    page.get_by_role("heading", name=re.compile(r"^unity_build")).wait_for()

    log = page.get_by_label("log", exact=True)
    expect(log).to_have_attribute("data-complete", "true", timeout=120_000)
    expect(log).not_to_be_empty()
    expect(page.locator(".job-head [data-state]")).to_have_attribute("data-state", "succeeded")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    events = page.get_by_role("list", name="Events")
    expect(events.locator("li[data-type='completed']")).to_have_count(1)
    expect(events.locator("li[data-type='progress']").first).to_be_visible()

    artifacts = page.get_by_role("table", name="Artifacts")
    button = artifacts.get_by_role("button").first
    with page.expect_download() as caught:
        button.click()
    assert caught.value.path().stat().st_size > 0, caught.value.suggested_filename
    console.shot("job")


def test_a_failed_job_shows_its_error_and_a_queued_one_is_canceled_from_its_page(
    api: httpx.Client, key: str, project_id: str, console: Console
) -> None:
    # the LLM stand-in writes class Door, so a Gate is refused as invalid code
    gate = {"prompt": "a gate that opens for the player", "class_name": "Gate"}
    failed = api.post("/v1/jobs", json={"kind": "generate_script", "params": gate}).json()
    # no builder on this farm builds for iOS: the build waits in its queue
    ios = {"kind": "unity_build", "project_id": project_id, "params": {"target": "iOS"}}
    queued = api.post("/v1/jobs", json=ios).json()
    page = console.page
    console.sign_in(key)
    console.go("Activity")

    jobs = page.get_by_role("table", name="Jobs")
    failed_row = jobs.get_by_role("row").filter(
        has=page.get_by_role("link", name=f"generate_script {failed['id'][:8]}")
    )
    expect(failed_row.locator(".state")).to_have_text("failed", timeout=60_000)
    expect(failed_row).to_contain_text("invalid_code")
    failed_row.get_by_role("link", name=f"generate_script {failed['id'][:8]}").click()
    error = page.get_by_role("region", name="Error")
    expect(error).to_contain_text("invalid_code")
    expect(error.locator(".details")).to_contain_text("diagnostics")

    page.get_by_role("link", name="← Activity").click()
    page.get_by_role("link", name=f"unity_build {queued['id'][:8]}").click()
    page.get_by_role("heading", name=re.compile(r"^unity_build")).wait_for()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("dialog").get_by_role("button", name="Confirm").click()
    expect(page.locator(".job-head [data-state]")).to_have_attribute("data-state", "canceled")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(
        page.get_by_role("list", name="Events").locator("li[data-type='canceled']")
    ).to_have_count(1)
    console.shot("job")
