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


def test_the_policy_refuses_markup_from_a_string_and_the_page_reports_it(
    console: Console,
) -> None:
    """Trusted Types are enforced: had a panel assigned a user's text to innerHTML, it would
    have thrown and been reported, never rendered."""
    console.open()
    page = console.page
    page.get_by_label("API key or token").wait_for()
    outcome = page.evaluate(
        "() => { try { document.body.innerHTML = '<img src=x>'; return 'rendered'; }"
        " catch (e) { return e.name; } }"
    )
    assert outcome == "TypeError"
    assert page.locator("img").count() == 0
    violations = page.evaluate("window.__sparkViolations")
    assert any("require-trusted-types-for" in v for v in violations), violations
    # this test caused the refusal and its console error on purpose
    page.evaluate("window.__sparkViolations = []")
    assert any("TrustedHTML" in e for e in console.watch.errors), console.watch.errors
    console.watch.errors.clear()
