"""Sessions in the console: open one on a project, ask in plain words, watch the jobs the
answer starts progress live, see the preview's frame inline and the answer, end it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Console, ConsoleStack
from tests.support.fake_llm import DOOR_SCRIPT, Reply

ASKED = "make a door that opens near the player and show it in the main scene"
ANSWER = "I wrote Door and rendered the main scene."


@pytest.fixture
def planning_model(console_stack: ConsoleStack) -> Iterator[None]:
    """The LLM stand-in plans two calls, writes the script, then answers; as it was after."""
    calls = [
        (
            "generate_script",
            {
                "prompt": "a door that opens when the player comes near",
                "class_name": "Door",
                "namespace": "Studio.Game",
                "write_to_project": True,
            },
        ),
        ("render_preview", {"width": 640, "height": 360}),
    ]
    llm = console_stack.llm
    llm.replies = [Reply(calls=calls), Reply(code=DOOR_SCRIPT), Reply(text=ANSWER)]
    yield
    llm.replies = [Reply(code=DOOR_SCRIPT)]


def test_a_session_runs_the_answers_jobs_live_and_shows_the_frame_and_the_answer(
    planning_model: None, key: str, project_id: str, console: Console
) -> None:
    console.sign_in(key)
    console.go("Sessions")
    page = console.page
    page.get_by_label("Title").fill("first level")
    page.get_by_role("button", name="New session").click()
    expect(page.get_by_role("heading", name="first level")).to_be_visible()
    page.evaluate("window.__spark_no_reload = true")

    page.get_by_label("Message").fill(ASKED)
    page.get_by_role("button", name="Send").click()
    turn = page.locator("li.turn")
    expect(turn.get_by_text(ASKED)).to_be_visible()
    expect(turn.locator("li.call[data-kind=generate_script][data-state=succeeded]")).to_be_visible()
    expect(turn.locator("li.call[data-kind=render_preview][data-state=succeeded]")).to_be_visible()
    frame = turn.locator("img.frame")
    expect(frame).to_be_visible()
    page.wait_for_function("() => document.querySelector('img.frame')?.naturalWidth === 640")
    expect(turn.get_by_text(ANSWER)).to_be_visible()
    assert page.evaluate("window.__spark_no_reload") is True
    expect(page.get_by_text("tokens · cost")).to_be_visible()
    console.shot("sessions")

    page.get_by_role("button", name="End session").click()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("ended (user)")).to_be_visible()
    expect(page.get_by_label("Message")).to_be_disabled()
