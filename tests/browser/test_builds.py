"""The Builds panel: a WebGL build started from the form, its log followed to the end, its
artifact downloaded, and the farm's builder listed."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import Console


def test_a_build_is_started_followed_to_its_end_and_its_artifact_downloaded(
    key: str, project_id: str, console: Console
) -> None:
    # console last: its page closes before the database is emptied after the test
    page = console.page
    console.sign_in(key)
    console.go("Builds")
    page.get_by_role("heading", name="Start a build").wait_for()
    page.get_by_label("Project").select_option(project_id)
    page.get_by_label("Target").select_option("WebGL")
    expect(page.get_by_label("Android format")).to_be_hidden()
    page.get_by_label("Development build").check()
    page.get_by_label("Compression").select_option("brotli")
    page.get_by_role("button", name="Start build").click()

    log = page.get_by_label("log", exact=True)
    expect(log).to_have_attribute("data-complete", "true", timeout=120_000)
    expect(log).not_to_be_empty()
    build = page.get_by_role("region", name="Build")
    expect(build.locator("[data-state]").first).to_have_attribute("data-state", "succeeded")
    expect(page).to_have_url(re.compile(r"/console/builds\?job=[0-9a-f-]{36}$"))

    button = build.get_by_role("button", name="Download").first
    with page.expect_download() as caught:
        button.click()
    download = caught.value
    path = download.path()
    assert path.stat().st_size > 0, download.suggested_filename

    farm = page.get_by_role("table", name="Builders")
    expect(farm.get_by_role("row").nth(1)).to_contain_text("StandaloneLinux64")
    expect(page.get_by_role("heading", name="Targets without a builder")).to_be_visible()
    recent = page.locator("table.recent-builds")
    expect(recent.get_by_role("row").nth(1)).to_contain_text("WebGL")
    console.shot("builds")

    # the build's URL opens the same build again, ended, with its artifact
    page.reload()
    expect(page.get_by_label("log", exact=True)).to_have_attribute("data-complete", "true")
    expect(build.get_by_role("button", name="Download")).to_be_visible()
