"""What a user typed never becomes markup or code in the console, the key stays in the tab's
sessionStorage only, and a console without a valid key shows nothing but the sign-in screen."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import expect

from spark.db.executor import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Tier
from spark.security.apikeys import create_key, revoke_key
from tests.browser.conftest import Console, ConsoleStack
from tests.support.jobs import TERMINAL, wait_state

HOSTILE_PATH = "Assets/Scripts/<script>alert(1)</script>.cs"
HOSTILE_CONTENT = "<img src=x onerror=alert(1)>\nclass {"
REVOKED = "the API key is unknown or revoked"


def key_parts(key: str) -> tuple[str, str]:
    """The key's id and its secret (spk_<id>_<secret>)."""
    _, key_id, secret = key.split("_", 2)
    return key_id, secret


def test_markup_in_params_and_error_messages_shows_as_text_and_the_key_never_leaks(
    console: Console,
    console_stack: ConsoleStack,
    api: httpx.Client,
    db: Database,
    key: str,
    project_id: str,
) -> None:
    """A patch whose path holds a <script> element and whose content an <img onerror> fails
    `invalid_code` with both in its message and params: the job page shows them as text."""
    params = {"path": HOSTILE_PATH, "patch_type": "full", "content": HOSTILE_CONTENT}
    body = {"kind": "apply_patch", "project_id": project_id, "params": params}
    resp = api.post("/v1/jobs", json={**body, "params": {**params, "validate": True}})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    assert wait_state(db, job_id, TERMINAL).state.value == "failed"

    console.sign_in(key)
    page = console.page
    console.open(f"/console/jobs/{job_id}")
    expect(page.get_by_text("invalid_code").first).to_be_visible()
    expect(page.get_by_text(re.compile(re.escape(HOSTILE_PATH))).first).to_be_visible()
    expect(
        page.get_by_text(re.compile(re.escape("<img src=x onerror=alert(1)>"))).first
    ).to_be_visible()
    console.shot("hostile-text")
    # only the console's own module script, and no image the text could have made
    assert page.locator("script").count() == 1
    assert page.locator("main img").count() == 0

    key_id, secret = key_parts(key)
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("Object.values(sessionStorage)") == [key]
    assert console.watch.urls, "the page made no request"
    assert not [url for url in console.watch.urls if secret in url or key_id in url]
    api_log = console_stack.api.log()
    assert secret not in api_log and key not in api_log


def test_signed_out_the_console_shows_only_the_sign_in_screen_and_asks_nothing(
    console: Console,
) -> None:
    console.open("/console/files")
    expect(console.page.get_by_label("API key or token")).to_be_visible()
    assert console.page.get_by_role("navigation").count() == 0
    assert not [url for url in console.watch.urls if "/v1/" in url]


def test_a_revoked_key_is_refused_with_the_apis_message_and_no_panel(
    console: Console, db: Database
) -> None:
    revoked = create_key(db, "alice", Tier.PRO, DEFAULT_PERMISSIONS).token
    assert revoke_key(db, key_parts(revoked)[0])
    console.expect_status(401)
    console.open("/console/activity")
    console.page.get_by_label("API key or token").fill(revoked)
    console.page.get_by_role("button", name="Sign in").click()
    expect(console.page.get_by_role("alert")).to_have_text(REVOKED)
    assert console.page.get_by_role("navigation").count() == 0
    assert console.page.evaluate("sessionStorage.length") == 0


def test_a_key_revoked_while_signed_in_returns_the_console_to_sign_in_with_the_reason(
    console: Console, db: Database, key: str
) -> None:
    """No reload: the live feed notices the revoked key within seconds."""
    console.expect_status(401)
    console.sign_in(key)
    page = console.page
    page.evaluate("window.__spark_no_reload = true")
    assert revoke_key(db, key_parts(key)[0])
    revoked_at = time.monotonic()
    expect(page.get_by_role("alert")).to_have_text(REVOKED, timeout=30_000)
    print(f"sign-in screen {time.monotonic() - revoked_at:.1f} s after the revocation")
    assert page.evaluate("window.__spark_no_reload") is True
    expect(page.get_by_label("API key or token")).to_be_visible()
    assert page.get_by_role("navigation").count() == 0
    assert page.locator("main").count() == 0
    assert page.evaluate("sessionStorage.length") == 0
    console.shot("revoked")
