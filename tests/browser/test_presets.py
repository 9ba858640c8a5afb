"""The Presets panel: the templates listed, one read with its scripts and settings, applied
to a project, and the files it wrote followed into Files."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import Console


def test_a_preset_applied_to_a_project_lists_the_files_it_wrote(
    key: str, project_id: str, console: Console
) -> None:
    # console last: its page closes before the database is emptied after the test
    page = console.page
    console.sign_in(key)
    console.go("Presets")
    for name in ("2D Platformer", "Top-Down Action", "Visual Novel"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    page.get_by_role("link", name="2D Platformer").click()
    page.get_by_role("heading", name="2D Platformer", level=1).wait_for()
    expect(page.get_by_text("Assets/Scripts/Platformer/PlayerController2D.cs")).to_be_visible()
    expect(page.locator("pre.code").first).to_contain_text("class PlayerController2D")
    expect(page.get_by_role("table", name="Build options")).to_contain_text("WebGL")
    expect(page.get_by_role("table", name="Settings")).to_contain_text("Point")

    page.get_by_label("Project").select_option(project_id)
    page.get_by_label("Namespace").fill("Game.Platformer")
    page.get_by_role("button", name="Apply").click()
    written = page.get_by_role("list").filter(has_text="PlayerController2D.cs")
    expect(written.get_by_role("listitem")).to_have_count(5, timeout=60_000)
    expect(page.locator(".apply-outcome [data-state]")).to_have_attribute("data-state", "succeeded")
    expect(written).to_contain_text("Assets/Settings/2d-platformer.json")
    console.shot("presets")

    written.get_by_role("link", name="Assets/Scripts/Platformer/CameraFollow2D.cs").click()
    expect(page).to_have_url(re.compile(r"/console/files\?"))
    assert "path=Assets%2FScripts%2FPlatformer%2FCameraFollow2D.cs" in page.url
    assert f"project={project_id}" in page.url
    expect(page.get_by_role("link", name="Files and undo")).to_have_attribute("aria-current", "")
