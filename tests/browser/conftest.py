"""The browser tier: Debian's Chromium, headless, driven by Playwright, on the console of a real
`spark api`, with a worker, a build worker on the Unity stand-in, unity-mcp's real server with
a stand-in editor, and the LLM stand-in.

Every test's page is watched from its first request: a dialog, a page error, a console error
or a CSP violation fails the test at its end, as does a request whose URL carries the key.
The browser's own report of an HTTP error status ("Failed to load resource: …") is the API
answering as it should; a test that causes one says which status it expects.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from fakes.unity import make_unity_project
from spark.config import Settings
from spark.db.executor import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Tier
from spark.security.apikeys import create_key
from tests.support.browser import CHROMIUM, LAUNCH_ARGS, install, missing_reason
from tests.support.builds import builds_only_worker
from tests.support.fake_llm import DOOR_SCRIPT, FakeLLM, Reply
from tests.support.services import free_port
from tests.support.unity_editor import EditorStandIn
from tests.support.unity_mcp_real import UnityMcpServer
from tests.support.workers import ApiProcess, WorkerProcess

#: screenshots and traces land here, a folder per test
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
VIOLATIONS_SCRIPT = """
window.__sparkViolations = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__sparkViolations.push(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
"""
FULL_KEY = re.compile(r"spk_[0-9a-f]+_\S")
HTTP_STATUS = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")


@dataclass(frozen=True)
class ConsoleStack:
    """What the console runs against."""

    api: ApiProcess
    worker: WorkerProcess
    builder: WorkerProcess
    llm: FakeLLM
    unity_mcp: UnityMcpServer
    editor: EditorStandIn
    project_dir: Path


@pytest.fixture(scope="session")
def console_stack(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsoleStack]:
    """The stack, once for the tier."""
    root = tmp_path_factory.mktemp("console")
    project_dir = make_unity_project(root / "Game", delay_s=0.05)
    llm = FakeLLM([Reply(code=DOOR_SCRIPT)]).start()
    unity_mcp = UnityMcpServer(free_port()).start()
    editor = EditorStandIn(unity_mcp.hub_url, project_dir, "Game", uuid.uuid4().hex[:8])
    editor.start()
    worker = WorkerProcess(
        settings, root, SPARK_LLM_BASE_URL=llm.base_url, SPARK_LLM_MODEL="fake-coder"
    )
    builder = builds_only_worker(settings, root / "builder")
    api = ApiProcess(settings, root, free_port())
    for proc in (worker, builder, api):
        proc.start()
    yield ConsoleStack(api, worker, builder, llm, unity_mcp, editor, project_dir)
    for proc in (api, builder, worker):
        proc.stop()
    # whatever the tier's tests did, no process wrote a key into its log
    for proc in (api, builder, worker):
        assert not FULL_KEY.search(proc.log()), f"a key in {proc.log_path}"
    editor.stop()
    unity_mcp.cleanup()
    llm.stop()


@pytest.fixture
def key(db: Database) -> str:
    """A key for 'alice' (pro tier: the console's reads fit well within its limits)."""
    return create_key(db, "alice", Tier.PRO, DEFAULT_PERMISSIONS).token


@pytest.fixture
def api(console_stack: ConsoleStack, key: str) -> Iterator[httpx.Client]:
    """An HTTP client on the stack's API, as alice, to set up what a test starts from."""
    with httpx.Client(
        base_url=console_stack.api.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        yield client


@pytest.fixture
def project_id(api: httpx.Client, console_stack: ConsoleStack) -> str:
    """A project on the stand-in editor's folder, its editor the unity-mcp server."""
    body = {
        "name": f"game-{uuid.uuid4().hex[:6]}",
        "source_dir": str(console_stack.project_dir),
        "unity_mcp_url": console_stack.unity_mcp.url,
    }
    resp = api.post("/v1/projects", json=body)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if missing_reason() is not None:
        install()  # apt, when root; `make test` has done it already out of any timeout
    reason = missing_reason()
    if reason is not None:
        pytest.fail(f"the browser tier cannot run: {reason}", pytrace=False)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
    yield chromium
    chromium.close()


@dataclass
class Watch:
    """Everything the page did that a test may hold against it."""

    errors: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type not in ("error", "warning"):
            return
        status = HTTP_STATUS.search(message.text)
        if status and message.type == "error":
            self.statuses.append(int(status.group(1)))
        else:
            self.errors.append(f"{message.type}: {message.text} at {message.location}")


class Console:
    """The console in one browser tab, as a person uses it."""

    def __init__(self, page: Page, base_url: str, output: Path, watch: Watch) -> None:
        self.page, self.base_url, self.output, self.watch = page, base_url, output, watch

    def open(self, path: str = "/console") -> None:
        self.page.goto(self.base_url + path)

    def sign_in(self, key: str) -> None:
        """Open the console and sign in with key, waiting for the navigation to show."""
        self.open()
        self.page.get_by_label("API key or token").fill(key)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_role("navigation", name="Console").wait_for()

    def go(self, title: str) -> None:
        """Follow the navigation link titled title."""
        self.page.get_by_role("navigation", name="Console").get_by_role("link", name=title).click()

    def shot(self, name: str) -> Path:
        """A full-page screenshot, saved in the test's output folder."""
        path = self.output / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def expect_status(self, *statuses: int) -> None:
        """The test causes these HTTP error statuses on purpose."""
        self.watch.expected_statuses.update(statuses)


@pytest.fixture
def console(
    browser: Browser, console_stack: ConsoleStack, db: Database, request: pytest.FixtureRequest
) -> Iterator[Console]:
    """A fresh browser context on the console; its page checked at the end of the test.

    It depends on db so the page closes before the test's rows are emptied: a request still
    running then would otherwise meet a 404 for data the test made.
    """
    output = OUTPUT / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    output.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    # every CSP violation, recorded by the page itself as well as in its console
    context.add_init_script(VIOLATIONS_SCRIPT)
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = Watch()
    page.on("console", watch.on_console)
    page.on("pageerror", lambda exc: watch.errors.append(f"page error: {exc}"))
    page.on("request", lambda req: watch.urls.append(req.url))

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield Console(page, console_stack.api.url, output, watch)
    stored: dict[str, Any] = {}
    if not page.is_closed() and page.url.startswith(console_stack.api.url):
        watch.errors.extend(page.evaluate("window.__sparkViolations || []"))
        stored = page.evaluate("({cookie: document.cookie, local: localStorage.length})")
    context.close()
    # every key is spk_…: none may ride in a URL, a cookie or localStorage, in any test
    assert not [url for url in watch.urls if "spk_" in url], "a key in a request URL"
    assert stored.get("cookie", "") == "" and stored.get("local", 0) == 0, stored
    assert not watch.dialogs, watch.dialogs
    assert not watch.errors, "\n".join(watch.errors)
    unexpected = [s for s in watch.statuses if s not in watch.expected_statuses]
    assert not unexpected, f"unexpected HTTP error statuses: {unexpected}"
