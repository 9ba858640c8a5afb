"""The console's shell: served with its security headers, signing in and out."""

from __future__ import annotations

import httpx

from tests.browser.conftest import Console, ConsoleStack


def test_signing_in_shows_the_panels_and_signing_out_forgets_the_key(
    console: Console, key: str
) -> None:
    console.sign_in(key)
    console.page.get_by_text("alice · pro").wait_for()
    assert console.page.evaluate("sessionStorage.length") == 1
    console.page.get_by_role("button", name="Sign out").click()
    console.page.get_by_label("API key or token").wait_for()
    assert console.page.evaluate("sessionStorage.length") == 0


def test_console_pages_carry_a_strict_content_security_policy(
    console_stack: ConsoleStack,
) -> None:
    resp = httpx.get(console_stack.api.url + "/console/activity")
    assert resp.status_code == 200
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["referrer-policy"] == "no-referrer"
