"""unity-mcp's real server (PyPI mcpforunityserver, HTTP mode) with only the Unity Editor stood
in (tests/support/unity_editor.py), driven through the `mcp` SDK client SPARK uses: what its
tools answer, and that the stand-in and the server fixture behave as the brief of each says."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, ImageContent, TextContent
from PIL import Image

from tests.support.unity_editor import EditorStandIn
from tests.support.unity_mcp_real import UnityMcpServer, running_server

pytestmark = pytest.mark.integration

T = TypeVar("T")
SCRIPT = "Assets/Scripts/Mover.cs"
URI = f"mcpforunity://path/{SCRIPT}"
# A compact MonoBehaviour: the field sits within 200 characters of Update's header.
COMPACT = (
    "using UnityEngine;\n"
    "\n"
    "public class Mover : MonoBehaviour\n"
    "{\n"
    "    public float speed = 1f;\n"
    "    void Update() { transform.Translate(0, 0, speed * Time.deltaTime); }\n"
    "}\n"
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def session(
    server: UnityMcpServer, then: Callable[[ClientSession], Awaitable[T]], key: str | None = None
) -> T:
    """One MCP session on the server, as SPARK opens them (streamable HTTP over httpx2)."""

    async def run() -> T:
        headers = {"X-API-Key": key} if key else {}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60.0, read=None)) as http,
            streamable_http_client(server.url, http_client=http) as (read, write),
            ClientSession(read, write) as mcp,
        ):
            await mcp.initialize()
            return await then(mcp)

    return asyncio.run(run())


def call_tool(
    server: UnityMcpServer, tool: str, key: str | None = None, **args: Any
) -> CallToolResult:
    async def then(mcp: ClientSession) -> CallToolResult:
        result = await mcp.call_tool(tool, args)
        assert isinstance(result, CallToolResult)
        return result

    return session(server, then, key)


def call(
    server: UnityMcpServer, tool: str, key: str | None = None, **args: Any
) -> tuple[dict[str, Any], list[ImageContent]]:
    """A tool's JSON answer and its images."""
    result = call_tool(server, tool, key, **args)
    texts = [c.text for c in result.content if isinstance(c, TextContent)]
    images = [c for c in result.content if isinstance(c, ImageContent)]
    assert not result.is_error, texts
    return json.loads(texts[0]), images


def instances(server: UnityMcpServer) -> list[dict[str, Any]]:
    """The mcpforunity://instances resource's instances."""

    async def then(mcp: ClientSession) -> Any:
        return await mcp.read_resource("mcpforunity://instances")

    contents = session(server, then).contents[0]
    return list(json.loads(getattr(contents, "text", "{}")).get("instances", []))


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def edit(line: int, col: int, end_line: int, end_col: int, text: str) -> dict[str, Any]:
    return {
        "startLine": line,
        "startCol": col,
        "endLine": end_line,
        "endCol": end_col,
        "newText": text,
    }


def replacing(text: str, old: str, new: str) -> dict[str, Any]:
    """The 1-based edit that turns the first `old` of text (on one line) into `new`."""
    at = text.index(old)
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    return edit(line, col, line, col + len(old), new)


@pytest.fixture(scope="module")
def server() -> Iterator[UnityMcpServer]:
    with running_server() as running:
        yield running


@pytest.fixture
def editor(server: UnityMcpServer, tmp_path: Path) -> Iterator[EditorStandIn]:
    wait_for(lambda: not server.instances())  # the previous test's editor has gone
    running = EditorStandIn(server.hub_url, tmp_path / "SparkGame").start()
    yield running
    running.stop()


def test_a_started_editor_is_listed_in_the_instances_resource(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    listed = instances(server)
    assert [i["id"] for i in listed] == ["SparkGame@a1b2c3d4"]
    assert listed[0]["session_id"] == editor.session_id
    assert listed[0]["unity_version"] == editor.unity_version


def test_a_created_script_reads_back_as_written(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    created, _ = call(server, "create_script", path=SCRIPT, contents=COMPACT)
    assert created["success"] and created["data"]["uri"] == URI
    assert editor.read(SCRIPT) == COMPACT
    read, _ = call(server, "manage_script", action="read", name="Mover", path="Assets/Scripts")
    assert read["data"]["contents"] == COMPACT
    again, _ = call(server, "create_script", path=SCRIPT, contents=COMPACT)
    assert again["success"] is False and "already exists" in again["error"]
    commands = [c[1] for c in editor.calls]
    assert commands.count("manage_script") == 3


def test_an_edit_whose_precondition_is_stale_answers_stale_file(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    editor.write(SCRIPT, COMPACT)
    old = sha(COMPACT.replace("1f", "3f"))
    change = replacing(COMPACT, "1f", "2f")
    answer, _ = call(server, "apply_text_edits", uri=URI, edits=[change], precondition_sha256=old)
    assert answer["success"] is False and answer["code"] == "stale_file"
    assert answer["data"]["expected_sha256"] == old
    assert answer["data"]["current_sha256"] == sha(COMPACT)
    assert editor.read(SCRIPT) == COMPACT


def test_one_whole_file_edit_of_a_compact_script_is_dropped_as_a_no_op(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    """ManageScript's auto-upgrade turns the edit into replace_method of Update alone."""
    editor.write(SCRIPT, COMPACT)
    whole = edit(1, 1, 8, 1, COMPACT.replace("speed = 1f", "speed = 2f"))
    answer, _ = call(
        server, "apply_text_edits", uri=URI, edits=[whole], precondition_sha256=sha(COMPACT)
    )
    assert answer["success"] is True
    assert answer["message"] == f"No-op: contents unchanged for '{SCRIPT}'."
    assert answer["data"]["sha256"] == sha(COMPACT)
    assert answer["data"]["no_op"] is True
    assert editor.read(SCRIPT) == COMPACT


def test_the_same_change_as_two_edits_is_applied(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    editor.write(SCRIPT, COMPACT)
    changed = COMPACT.replace("speed = 1f", "speed = 2f").replace("(0, 0,", "(0f, 0,")
    edits = [replacing(COMPACT, "1f", "2f"), replacing(COMPACT, "(0, 0,", "(0f, 0,")]
    answer, _ = call(
        server, "apply_text_edits", uri=URI, edits=edits, precondition_sha256=sha(COMPACT)
    )
    assert answer["success"] is True and answer["data"]["editsApplied"] == 2
    assert answer["data"]["sha256"] == sha(changed)
    assert editor.read(SCRIPT) == changed


def test_an_edit_before_the_first_using_is_refused_by_the_using_guard(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    headed = "// Mover, by SPARK\n" + COMPACT
    editor.write(SCRIPT, headed)
    answer, _ = call(
        server,
        "apply_text_edits",
        uri=URI,
        edits=[replacing(headed, "Mover", "Pilot")],
        precondition_sha256=sha(headed),
    )
    assert answer["success"] is False and answer["code"] == "using_guard"
    assert editor.read(SCRIPT) == headed


def test_more_than_64_kib_of_new_text_is_refused_as_too_large(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    data = "using UnityEngine;\n\npublic class Mover : MonoBehaviour\n{\n    public int lives;\n}\n"
    editor.write(SCRIPT, data)
    comment = "    // " + "x" * (65 * 1024) + "\n"
    answer, _ = call(
        server,
        "apply_text_edits",
        uri=URI,
        edits=[edit(5, 1, 5, 1, comment)],
        precondition_sha256=sha(data),
    )
    assert answer["success"] is False and answer["code"] == "too_large"
    assert answer["data"]["limitBytes"] == 64 * 1024


def test_an_edit_answers_only_once_the_compile_it_started_is_over(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    """The server polls the editor's state until no compile blocks it (30 s at most)."""
    editor.write(SCRIPT, COMPACT)
    editor.compile_seconds = 2.0
    edits = [replacing(COMPACT, "1f", "2f"), replacing(COMPACT, "(0, 0,", "(0f, 0,")]
    start = time.monotonic()
    answer, _ = call(
        server, "apply_text_edits", uri=URI, edits=edits, precondition_sha256=sha(COMPACT)
    )
    took = time.monotonic() - start
    assert answer["success"] is True
    assert 2.0 <= took < 10.0
    states = [t for t, name, _ in editor.calls if name == "get_editor_state"]
    assert len(states) >= 4 and states[-1] - states[0] >= 1.5


def test_the_editor_state_resource_says_compiling_while_a_compile_runs(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    """The plugin reports compilation.is_compiling; the server adds the advice."""

    async def state(mcp: ClientSession) -> Any:
        return await mcp.read_resource("mcpforunity://editor/state")

    def advice() -> dict[str, Any]:
        text = getattr(session(server, state).contents[0], "text", "{}")
        return dict(json.loads(text)["data"]["advice"])

    assert advice()["ready_for_tools"] is True
    editor.compile_seconds = 30.0
    editor.start_compile()
    busy = advice()
    assert busy["ready_for_tools"] is False and busy["blocking_reasons"] == ["compiling"]
    editor.compile_seconds = 0.0
    editor.start_compile()
    assert advice()["ready_for_tools"] is True


def test_a_scene_loads_only_from_a_file_in_the_project_and_tints_the_capture(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    missing, _ = call(server, "manage_scene", action="load", path="Assets/Scenes/Level1.unity")
    assert missing["success"] is False
    assert missing["error"] == "Scene file not found at 'Assets/Scenes/Level1.unity'."
    _, before = call(server, "manage_camera", action="screenshot", include_image=True)
    editor.write("Assets/Scenes/Level1.unity", "%YAML 1.1\n")
    loaded, _ = call(server, "manage_scene", action="load", path="Assets/Scenes/Level1.unity")
    assert loaded["success"] is True and editor.scene == "Assets/Scenes/Level1.unity"
    _, after = call(server, "manage_camera", action="screenshot", include_image=True)
    assert before[0].data != after[0].data


def test_compile_errors_reach_the_console_after_a_refresh(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    editor.write(SCRIPT, COMPACT.replace("    void Update", "#error broken\n    void Update"))
    refreshed, _ = call(
        server,
        "refresh_unity",
        mode="if_dirty",
        scope="all",
        compile="request",
        wait_for_ready=True,
    )
    assert refreshed["success"] is True
    console, _ = call(
        server, "read_console", action="get", types=["error"], format="json", count=500
    )
    assert console["data"] == [
        {
            "type": "Error",
            "message": f"{SCRIPT}(6,1): error CS1029: #error broken",
            "file": SCRIPT,
            "line": 6,
            "stackTrace": None,
        }
    ]


def test_a_screenshot_is_saved_whole_and_shrunk_to_max_resolution_inline(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    answer, images = call(
        server,
        "manage_camera",
        action="screenshot",
        include_image=True,
        max_resolution=640,
        capture_source="game_view",
    )
    data = answer["data"]
    assert (data["imageWidth"], data["imageHeight"]) == (640, 360)
    assert (
        data["path"].startswith("Assets/Screenshots/screenshot-")
        and data["camera"] == "Main Camera"
    )
    with Image.open(io.BytesIO(base64.b64decode(images[0].data))) as inline:
        assert inline.size == (640, 360)
    with Image.open(editor.project_dir / data["path"]) as whole:
        assert whole.size == (1920, 1080)
        expected = whole.convert("RGB").resize((640, 360), Image.Resampling.BILINEAR)
    with Image.open(io.BytesIO(base64.b64decode(images[0].data))) as inline:
        assert inline.convert("RGB").tobytes() == expected.tobytes()
    bigger, images = call(
        server,
        "manage_camera",
        action="screenshot",
        include_image=True,
        max_resolution=4096,
        screenshot_super_size=2,
    )
    assert (bigger["data"]["imageWidth"], bigger["data"]["imageHeight"]) == (3840, 2160)
    assert bigger["data"]["superSize"] == 2
    assert editor.calls[-1][2]["superSize"] == 2


def test_a_call_cut_by_a_domain_reload_answers_retry_and_the_editor_comes_back(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    first_session = editor.session_id
    editor.reload_on("manage_camera", down_s=1.5)
    answer, _ = call(server, "manage_camera", action="screenshot", include_image=True)
    assert answer == {
        "success": False,
        "message": None,
        "error": f"Unity plugin session {first_session} disconnected while awaiting command_result",
        "data": None,
        "hint": "retry",
    }
    wait_for(lambda: [i["session_id"] for i in instances(server)] not in ([], [first_session]))
    assert editor.registrations == 2
    again, images = call(server, "manage_camera", action="screenshot", include_image=True)
    assert again["success"] is True and images


def test_an_edit_whose_answer_a_reload_lost_is_verified_by_sha_and_answered_without_one(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    editor.write(SCRIPT, COMPACT)
    editor.reload_on("manage_script", down_s=1.0, after_running=True)
    edits = [replacing(COMPACT, "1f", "2f"), replacing(COMPACT, "(0, 0,", "(0f, 0,")]
    answer, _ = call(
        server, "apply_text_edits", uri=URI, edits=edits, precondition_sha256=sha(COMPACT)
    )
    assert answer == {
        "success": True,
        "message": "Edit applied (verified after domain reload).",
        "data": {"normalizedEdits": edits},
    }
    assert editor.read(SCRIPT) == COMPACT.replace("1f", "2f").replace("(0, 0,", "(0f, 0,")
    assert [c[2]["action"] for c in editor.calls if c[1] == "manage_script"] == [
        "apply_text_edits",
        "get_sha",
    ]


def test_an_edit_cut_by_a_reload_before_it_ran_fails_inside_the_server(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    """apply_text_edits then does `resp.setdefault("data", {})` on the disconnect answer,
    whose data is None: the tool raises and the client gets an MCP error result."""
    editor.write(SCRIPT, COMPACT)
    editor.reload_on("manage_script", down_s=1.0)
    edits = [replacing(COMPACT, "1f", "2f"), replacing(COMPACT, "(0, 0,", "(0f, 0,")]
    result = call_tool(
        server, "apply_text_edits", uri=URI, edits=edits, precondition_sha256=sha(COMPACT)
    )
    assert result.is_error
    texts = [c.text for c in result.content if isinstance(c, TextContent)]
    assert texts == [
        "Error calling tool 'apply_text_edits': 'NoneType' object has no attribute 'setdefault'"
    ]
    assert editor.read(SCRIPT) == COMPACT


def test_a_call_made_while_the_editor_reloads_waits_for_it_to_register_again(
    server: UnityMcpServer, editor: EditorStandIn
) -> None:
    editor.write(SCRIPT, COMPACT)
    editor.reload(down_s=1.5)
    wait_for(lambda: editor.listed() is False)
    start = time.monotonic()
    answer, _ = call(server, "manage_script", action="read", name="Mover", path="Assets/Scripts")
    assert answer["success"] is True and answer["data"]["contents"] == COMPACT
    assert 0.5 < time.monotonic() - start < 10


def test_with_no_editor_connected_a_call_answers_no_unity_session() -> None:
    """The server waits UNITY_MCP_SESSION_RESOLVE_MAX_WAIT_S (20 s by default) for an editor
    to connect before giving up; 1 s here keeps the test short."""
    with running_server(env={"UNITY_MCP_SESSION_RESOLVE_MAX_WAIT_S": "1"}) as alone:
        start = time.monotonic()
        answer, _ = call(alone, "manage_camera", action="screenshot", include_image=True)
        assert 1.0 <= time.monotonic() - start < 5.0
    assert answer == {
        "success": False,
        "message": None,
        "error": "Unity session not available; please retry",
        "data": {"reason": "no_unity_session", "retry_after_ms": 250},
        "hint": "retry",
    }


def test_remote_hosted_mode_wants_a_key_and_the_instance_named(tmp_path: Path) -> None:
    key = "spark-hosted-key"
    with running_server(remote_hosted_api_key=key) as hosted:
        editor = EditorStandIn(hosted.hub_url, tmp_path / "SparkGame", api_key=key).start()
        try:
            unnamed, _ = call(
                hosted, "manage_camera", key=key, action="screenshot", include_image=True
            )
            named, images = call(
                hosted,
                "manage_camera",
                key=key,
                action="screenshot",
                include_image=True,
                unity_instance=editor.instance_id,
            )
        finally:
            editor.stop()
        assert hosted.validator is not None and set(hosted.validator.checked) == {key}
    assert unnamed["success"] is False and unnamed["hint"] == "select_instance"
    assert unnamed["data"] == {
        "reason": "instance_selection_required",
        "available_instances": ["SparkGame@a1b2c3d4"],
    }
    assert named["success"] is True and images


def test_a_wrong_key_keeps_the_editor_out(tmp_path: Path) -> None:
    with running_server(remote_hosted_api_key="right") as hosted:
        editor = EditorStandIn(hosted.hub_url, tmp_path / "SparkGame", api_key="wrong")
        with pytest.raises(TimeoutError, match="403"):
            editor.start(timeout=2.0)
        editor.stop()
