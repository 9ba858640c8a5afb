"""The unity-mcp editor bridge against the unity-mcp stand-in, a real MCP server process."""

from __future__ import annotations

import hashlib
import io
import logging
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from PIL import Image

from spark.engines.unity.bridge import Editor, EditorUnavailable
from spark.engines.unity.mcp_bridge import McpBridge, breaker_name
from spark.kv.redis_store import RedisBreakerStore
from spark.resilience.breaker import BreakerPolicy, CircuitBreaker
from tests.conftest import REDIS_URL
from tests.support.services import ensure_services, free_port
from tests.support.unity_mcp import ROOT, UnityMcpStandIn

SCRIPT = "Assets/Scripts/Door.cs"
DOOR = b"using UnityEngine;\n\npublic class Door : MonoBehaviour\n{\n}\n"
POLICY = BreakerPolicy(failures_to_open=3, reset_after_s=60.0, successes_to_close=1)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def standin() -> Iterator[UnityMcpStandIn]:
    with UnityMcpStandIn(free_port()) as running:
        yield running


@pytest.fixture
def store() -> RedisBreakerStore:
    ensure_services()
    return RedisBreakerStore(REDIS_URL)


def bridge(store: RedisBreakerStore, timeout_s: float = 5.0) -> McpBridge:
    return McpBridge(store, POLICY, timeout_s=timeout_s, wait_s=5.0, reload_poll_s=0.1)


def test_a_screenshot_is_a_png_no_larger_than_asked(
    standin: UnityMcpStandIn, store: RedisBreakerStore
) -> None:
    """The ImageContent comes back decoded: a PNG of the game view fitted to max_resolution."""
    shot = bridge(store).screenshot(Editor(standin.url), max_resolution=480, camera="Main Camera")
    with Image.open(io.BytesIO(shot.image)) as png:
        assert png.format == "PNG" and png.size == (480, 270)
    assert (shot.width, shot.height, shot.mime_type) == (480, 270, "image/png")
    [call] = standin.calls("manage_camera")
    assert call["args"]["max_resolution"] == 480 and call["args"]["include_image"] is True


def test_calls_reuse_one_session(standin: UnityMcpStandIn, store: RedisBreakerStore) -> None:
    """Several calls on one editor initialize once."""
    editor, spark = Editor(standin.url), bridge(store)
    spark.ping(editor)
    spark.open_scene(editor, "Assets/Scenes/SampleScene.unity")
    spark.console(editor)
    assert [r["method"] for r in standin.requests()].count("initialize") == 1


def test_an_editor_reloading_is_asked_again_until_it_answers(
    standin: UnityMcpStandIn, store: RedisBreakerStore
) -> None:
    """'Unity is reloading; please retry' twice, then the scene opens."""
    standin.set_mode("reloading", tool="manage_scene", times=2)
    bridge(store).open_scene(Editor(standin.url), "Assets/Scenes/SampleScene.unity")
    assert len(standin.calls("manage_scene")) == 3


def test_a_pending_answer_is_polled_at_the_interval_it_gives(
    standin: UnityMcpStandIn, store: RedisBreakerStore
) -> None:
    """`_mcp_status: pending` with `_mcp_poll_interval` is asked again after that interval."""
    standin.set_mode("pending", tool="refresh_unity", times=2, poll_interval=0.3)
    started = time.monotonic()
    bridge(store).refresh(Editor(standin.url))
    assert time.monotonic() - started >= 0.6
    assert len(standin.calls("refresh_unity")) == 3


def test_a_slow_editor_is_unavailable_after_the_timeout_naming_its_url(
    standin: UnityMcpStandIn, store: RedisBreakerStore
) -> None:
    """An answer slower than the timeout ends the call quickly with EditorUnavailable."""
    standin.set_mode("slow", tool="read_console", delay=10.0)
    started = time.monotonic()
    with pytest.raises(EditorUnavailable) as raised:
        bridge(store, timeout_s=1.0).console(Editor(standin.url))
    assert time.monotonic() - started < 3.0
    assert standin.url in raised.value.message and raised.value.code == "editor_unavailable"


def test_an_unreachable_editor_is_unavailable(store: RedisBreakerStore) -> None:
    """Nothing listening: EditorUnavailable naming the URL, well within the timeout."""
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(EditorUnavailable, match=url):
        bridge(store, timeout_s=2.0).ping(Editor(url))


BREAKER_PROBE = """
import sys, time
from spark.engines.unity.bridge import Editor, EditorUnavailable
from spark.engines.unity.mcp_bridge import McpBridge
from spark.kv.redis_store import RedisBreakerStore
from spark.resilience.breaker import BreakerPolicy
bridge = McpBridge(RedisBreakerStore(sys.argv[1]), BreakerPolicy(3, 60.0, 1), timeout_s=5.0)
started = time.monotonic()
try:
    bridge.ping(Editor(sys.argv[2]))
except EditorUnavailable as exc:
    print(f"{time.monotonic() - started:.3f} {exc.message}")
"""


def test_after_repeated_failures_every_process_fails_fast(
    standin: UnityMcpStandIn, store: RedisBreakerStore
) -> None:
    """N failures open the editor's breaker in Redis; another process then fails at once,
    naming the editor, without the editor seeing a request."""
    standin.set_mode("slow", delay=10.0)
    spark, editor = bridge(store, timeout_s=0.5), Editor(standin.url)
    for _ in range(POLICY.failures_to_open):
        with pytest.raises(EditorUnavailable):
            spark.console(editor)
    assert CircuitBreaker(breaker_name(standin.url), store, POLICY).state().value == "open"
    seen = len(standin.requests())
    argv = [sys.executable, "-c", BREAKER_PROBE, REDIS_URL, standin.url]
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    elapsed, message = out.split(" ", 1)
    assert float(elapsed) < 0.5 and standin.url in message and "retry in" in message
    assert len(standin.requests()) == seen


def test_the_api_key_is_sent_and_never_logged(
    store: RedisBreakerStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A key-protected editor accepts SPARK's X-API-Key; without it, the call is refused;
    the key is in no log line."""
    key = "unity-key-0123456789"
    caplog.set_level(logging.DEBUG)
    with UnityMcpStandIn(free_port(), api_key=key) as standin:
        bridge(store).ping(Editor(standin.url, key))
        assert standin.requests() and all(r["x_api_key"] for r in standin.requests())
        with pytest.raises(EditorUnavailable):
            bridge(store).ping(Editor(standin.url))
        assert not standin.requests()[-1]["authorized"]
    assert key not in repr(Editor(standin.url, key))
    assert all(key not in record.getMessage() for record in caplog.records)


def test_a_write_lands_only_on_the_version_it_expects(
    standin: UnityMcpStandIn, store: RedisBreakerStore
) -> None:
    """New file: created; right precondition: replaced; wrong one: stale, file untouched."""
    spark, editor = bridge(store), Editor(standin.url)
    created = spark.write_file(editor, SCRIPT, DOOR, None)
    assert not created.stale and created.sha256 == sha(DOOR) and standin.file(SCRIPT) == DOOR
    newer = DOOR.replace(b"{\n}", b"{\n    public float speed = 2f;\n}")
    replaced = spark.write_file(editor, SCRIPT, newer, sha(DOOR))
    assert not replaced.stale and replaced.sha256 == sha(newer) and standin.file(SCRIPT) == newer
    stale = spark.write_file(editor, SCRIPT, DOOR, sha(DOOR))
    assert stale.stale and stale.expected_sha256 == sha(DOOR)
    assert stale.current_sha256 == sha(newer) and standin.file(SCRIPT) == newer


def test_a_write_over_an_editor_side_change_is_stale(
    standin: UnityMcpStandIn, store: RedisBreakerStore
) -> None:
    """Someone edited the file in Unity: SPARK's write does not overwrite it."""
    standin.put(SCRIPT, b"// edited in Unity\n")
    pushed = bridge(store).write_file(Editor(standin.url), SCRIPT, DOOR, None)
    assert pushed.stale and pushed.current_sha256 == sha(b"// edited in Unity\n")
    assert standin.file(SCRIPT) == b"// edited in Unity\n"


def test_the_console_reports_a_files_compile_errors(
    standin: UnityMcpStandIn, store: RedisBreakerStore
) -> None:
    """After a refresh, read_console's errors come back as diagnostics for that file."""
    spark, editor = bridge(store), Editor(standin.url)
    spark.write_file(editor, SCRIPT, DOOR + b"#error not finished\n", None)
    spark.refresh(editor)
    [error] = spark.console(editor)
    assert (error.file, error.line, error.severity) == (SCRIPT, 6, "error")
    assert "not finished" in error.message
    assert standin.calls("read_console")[-1]["args"]["format"] == "json"
