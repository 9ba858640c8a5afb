"""Preview: a frame at an exact size from the project's editor, cached the second time, and
an editor that cannot be reached shown as such."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Console, ConsoleStack
from tests.support.services import free_port

#: the sign the console writes sizes with (1280 by 720)
BY = "\N{MULTIPLICATION SIGN}"
#: true once the frame's image has loaded
LOADED = (
    "() => { const i = document.querySelector('img.frame');"
    " return !!i && i.complete && i.naturalWidth > 0; }"
)


def request_preview(page: Page) -> None:
    page.get_by_role("main").get_by_role("button", name="Render preview").click()


def test_a_1280x720_preview_shows_at_its_natural_size_then_from_the_cache(
    console: Console, key: str, project_id: str
) -> None:
    page = console.page
    console.sign_in(key)
    console.go("Preview")
    page.get_by_role("heading", name="Preview", exact=True).wait_for()
    page.get_by_label("Project", exact=True).select_option(value=project_id)
    page.get_by_label("Scene").fill("Assets/Scenes/Main.unity")
    expect(page.get_by_label("Size")).to_have_value("1280x720")
    page.get_by_label("Format").select_option("png")

    request_preview(page)
    page.get_by_text("Waiting for frame…").wait_for()
    page.wait_for_function(LOADED)
    size = page.locator("img.frame").evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert size == [1280, 720]
    frame = page.get_by_role("figure")
    expect(frame.locator(".badge")).to_have_text("rendered", timeout=30_000)
    expect(page.get_by_role("img", name=f"Preview frame, 1280 {BY} 720")).to_be_visible()

    request_preview(page)
    expect(frame.locator(".badge")).to_have_text("cached", timeout=30_000)
    page.wait_for_function(LOADED)
    # the first frame is now an earlier frame of the session
    strip = page.get_by_role("list", name="earlier frames")
    expect(
        strip.get_by_role("img", name=f"Frame 1280 {BY} 720 Assets/Scenes/Main.unity")
    ).to_have_count(1)
    expect(page).to_have_url(
        f"{console.base_url}/console/preview?project={project_id}&session=console"
    )
    console.shot("preview")


def test_an_editor_nobody_listens_for_is_shown_unavailable_with_the_hint(
    console: Console, key: str, api: httpx.Client, console_stack: ConsoleStack
) -> None:
    editor = f"http://127.0.0.1:{free_port()}/mcp"
    body = {
        "name": "no-editor",
        "source_dir": str(console_stack.project_dir),
        "unity_mcp_url": editor,
    }
    created = api.post("/v1/projects", json=body)
    assert created.status_code == 201, created.text
    page = console.page
    console.sign_in(key)
    console.open(f"/console/preview?project={created.json()['id']}")
    page.get_by_role("heading", name="Preview", exact=True).wait_for()
    page.get_by_role("button", name="Render preview").click()
    alert = page.get_by_role("alert")
    expect(alert.locator(".code")).to_have_text("editor_unavailable", timeout=30_000)
    expect(alert).to_contain_text(editor)
    hint = page.locator(".editor-hint")
    expect(hint).to_contain_text("MCP for Unity plugin")
    expect(hint).to_contain_text(editor)
    console.shot("preview")
