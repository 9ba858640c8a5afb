"""Files and undo: a file's content and history, a patch pinned to the version shown, a diff
between versions, a rollback, undoing a job's writes, and a hostile file shown as text."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from spark.db.executor import Database
from tests.browser.conftest import Console
from tests.support.jobs import wait_state

DOOR = "Assets/Scripts/Door.cs"
V1 = "public class Door\n{\n    int speed = 1;\n}\n"


def write(api: httpx.Client, db: Database, project_id: str, path: str, content: str) -> str:
    """Write content to path as an apply_patch job, waited for; the job's id."""
    params = {"path": path, "patch_type": "full", "content": content, "validate": False}
    body = {"kind": "apply_patch", "params": params, "project_id": project_id}
    resp = api.post("/v1/jobs", json=body)
    assert resp.status_code == 202, resp.text
    job_id = str(resp.json()["id"])
    assert wait_state(db, job_id, {"succeeded", "failed"}, timeout=60).state.value == "succeeded"
    return job_id


def open_file(console: Console, project_id: str, name: str) -> Page:
    """Open Files and undo on the project and follow the file's link in the tree."""
    page = console.page
    console.go("Files and undo")
    page.get_by_role("heading", name="Files and undo").wait_for()
    page.get_by_label("Project", exact=True).select_option(value=project_id)
    page.get_by_role("navigation", name="Project files").get_by_role("link", name=name).click()
    return page


def patch(page: Page, old: str, new: str) -> None:
    form = page.get_by_role("form", name="Patch")
    form.get_by_label("Patch type").select_option("replace")
    form.get_by_label("Text to replace").fill(old)
    form.get_by_label("New text").fill(new)
    form.get_by_role("button", name="Apply patch").click()


def test_a_file_is_patched_compared_rolled_back_and_its_job_undone(
    console: Console, key: str, api: httpx.Client, db: Database, project_id: str
) -> None:
    write(api, db, project_id, DOOR, V1)
    console.sign_in(key)
    page = open_file(console, project_id, "Door.cs")
    code = page.get_by_label(f"{DOOR} content")
    expect(code).to_contain_text("int speed = 1;")
    expect(page.locator(".file-version")).to_have_text("version 1")
    expect(page.get_by_label("Base version")).to_have_value("1")

    patch(page, "speed = 1", "speed = 2")
    patched = page.get_by_label("patch diff")
    expect(patched).to_contain_text("-    int speed = 1;", timeout=60_000)
    expect(patched.locator(".add")).to_have_text(["+    int speed = 2;"])
    expect(page.locator(".file-version")).to_have_text("version 2")
    expect(code).to_contain_text("int speed = 2;")

    compare = page.get_by_role("form", name="Compare versions")
    expect(compare.get_by_label("From")).to_have_value("1")
    expect(compare.get_by_label("To")).to_have_value("2")
    compare.get_by_role("button", name="Show diff").click()
    diff = page.get_by_label("diff of version 1 and version 2")
    expect(diff.locator(".del")).to_have_text(["-    int speed = 1;"])
    expect(diff.locator(".add")).to_have_text(["+    int speed = 2;"])
    console.shot("files-diff")

    history = page.get_by_role("region", name="History")
    history.get_by_role("button", name="Roll back to v1").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Version 1's content becomes version 3")
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Rolled back to version 1: now version 3.")).to_be_visible()
    expect(page.locator(".file-version")).to_have_text("version 3")
    expect(code).to_contain_text("int speed = 1;")
    assert api.get(f"/v1/projects/{project_id}/files/{DOOR}").json()["content"] == V1

    # a job that wrote the file, undone in one confirmed step
    patch(page, "speed = 1", "speed = 5")
    expect(page.locator(".file-version")).to_have_text("version 4", timeout=60_000)
    expect(code).to_contain_text("int speed = 5;")
    row = history.locator("tr[data-version='4']")
    row.get_by_role("button", name="Undo this job").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator(".undo-plan")).to_have_text(f"{DOOR}: version 4 → back to version 3")
    dialog.get_by_role("button", name="Confirm").click()
    outcome = page.locator(".undo-outcome")
    expect(outcome).to_contain_text(f"{DOOR}: back to version 3's content, now version 5")
    expect(page.locator(".file-version")).to_have_text("version 5")
    expect(code).to_contain_text("int speed = 1;")
    assert api.get(f"/v1/projects/{project_id}/files/{DOOR}").json()["content"] == V1
    console.shot("files")


def test_undoing_a_job_leaves_a_file_changed_since_unless_asked_and_deletes_one_it_created(
    console: Console, key: str, api: httpx.Client, db: Database, project_id: str
) -> None:
    spin = "Assets/Scripts/Spin.cs"
    write(api, db, project_id, spin, "// one\n")
    second = write(api, db, project_id, spin, "// two\n")
    write(api, db, project_id, spin, "// three\n")
    created = write(api, db, project_id, "Assets/Scripts/Fresh.cs", "// fresh\n")
    console.sign_in(key)
    page = console.page

    console.open(f"/console/files?project={project_id}&undo={second}")
    dialog = page.get_by_role("dialog")
    expect(dialog.locator(".undo-changed")).to_contain_text(f"{spin}: now version 3, by job")
    expect(dialog.get_by_label("Undo these too, overwriting the later changes")).not_to_be_checked()
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator(".undo-outcome")).to_contain_text(
        f"{spin}: left as it is (changed since the job, now version 3)"
    )
    assert api.get(f"/v1/projects/{project_id}/files/{spin}").json()["content"] == "// three\n"
    expect(page).to_have_url(re.compile(rf"/console/files\?project={project_id}$"))

    console.open(f"/console/files?project={project_id}&undo={created}")
    dialog = page.get_by_role("dialog")
    expect(dialog.locator(".undo-plan")).to_contain_text("deleted (the job created it)")
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator(".undo-outcome")).to_contain_text("Assets/Scripts/Fresh.cs: deleted")
    tree = page.get_by_role("navigation", name="Project files")
    expect(tree.get_by_role("link", name="Spin.cs")).to_be_visible()
    expect(tree.get_by_role("link", name="Fresh.cs")).to_have_count(0)
    console.shot("files")


def test_a_file_holding_markup_is_shown_as_text(
    console: Console, key: str, api: httpx.Client, db: Database, project_id: str
) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    write(api, db, project_id, "Assets/Scripts/X.cs", hostile + "\n")
    console.sign_in(key)
    page = open_file(console, project_id, "X.cs")
    code = page.get_by_label("Assets/Scripts/X.cs content")
    expect(code).to_contain_text(hostile)
    assert code.locator("img").count() == 0
    assert page.locator("main img").count() == 0
    console.shot("files")


def test_a_line_asked_in_the_url_is_marked_and_a_stale_patch_is_refused(
    console: Console, key: str, api: httpx.Client, db: Database, project_id: str
) -> None:
    write(api, db, project_id, DOOR, V1)
    console.sign_in(key)
    page = console.page
    console.open(f"/console/files?project={project_id}&path={DOOR}&line=3")
    code = page.get_by_label(f"{DOOR} content")
    expect(code.locator(".marked")).to_have_text("    int speed = 1;")
    expect(code.locator(".marked")).to_be_in_viewport()
    # the file moves on behind the page: a patch pinned to version 1 is refused
    write(api, db, project_id, DOOR, V1.replace("1;", "7;"))
    console.expect_status(409)
    patch(page, "speed = 1", "speed = 2")
    alert = page.get_by_role("form", name="Patch").get_by_role("alert")
    expect(alert.locator(".code")).to_have_text("version_conflict")
    assert "speed = 7" in api.get(f"/v1/projects/{project_id}/files/{DOOR}").json()["content"]
