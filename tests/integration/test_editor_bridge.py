"""The editor bridge against unity-mcp's real server (mcpforunityserver, HTTP mode), with only
the Unity Editor stood in: a program speaking the plugin's WebSocket hub that follows
ManageScript's rules (tests/support/unity_editor.py)."""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from spark.domain.breakers import BreakerRecord, BreakerState
from spark.engines.unity.bridge import Editor, EditorRefused, EditorUnavailable
from spark.engines.unity.mcp_bridge import McpBridge, breaker_name
from spark.kv.leases import RedisLeases
from spark.kv.redis_store import RedisBreakerStore
from spark.resilience.breaker import BreakerPolicy, CircuitBreaker
from tests.support.services import free_port
from tests.support.unity_editor import EditorStandIn
from tests.support.unity_mcp_real import UnityMcpServer, running_server

pytestmark = pytest.mark.integration

SCRIPT = "Assets/Scripts/Mover.cs"
COMPACT = (
    "using UnityEngine;\n"
    "public class Mover : MonoBehaviour {\n"
    "    public float speed = 1f;\n"
    "    void Update() { transform.Translate(0, 0, speed * Time.deltaTime); }\n"
    "    void Start() { }\n"
    "}\n"
)
POLICY = BreakerPolicy(failures_to_open=3, reset_after_s=60.0, successes_to_close=1)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def server() -> Iterator[UnityMcpServer]:
    with running_server(free_port()) as running:
        yield running


@pytest.fixture
def store(redis_url: str) -> RedisBreakerStore:
    return RedisBreakerStore(redis_url)


@pytest.fixture
def leases(redis_url: str) -> RedisLeases:
    return RedisLeases(redis_url)


@pytest.fixture
def bridge(store: RedisBreakerStore, leases: RedisLeases) -> McpBridge:
    return McpBridge(store, POLICY, leases=leases, timeout_s=10.0, wait_s=20.0)


def stand_in(server: UnityMcpServer, root: Path, name: str = "Game") -> EditorStandIn:
    return EditorStandIn(
        server.hub_url, root / name, project_name=name, project_hash=uuid.uuid4().hex[:8]
    )


@pytest.fixture
def editor(server: UnityMcpServer, tmp_path: Path) -> Iterator[EditorStandIn]:
    running = stand_in(server, tmp_path)
    running.start()
    yield running
    running.stop()


def alone(bridge: McpBridge, server: UnityMcpServer, instance: str | None = None) -> Editor:
    """The server's Editor, once the instances of earlier tests have gone from its list."""
    target = Editor(server.url, None, instance)
    deadline = time.monotonic() + 10
    while len(bridge.instances(target)) > (0 if instance is None else 1):
        assert time.monotonic() < deadline, "an earlier test's editor is still listed"
        time.sleep(0.1)
    return target


def push(bridge: McpBridge, target: Editor, path: str, new: str, old: str | None) -> None:
    with bridge.attach(target) as session:
        pushed = session.write_file(path, new.encode(), sha(old) if old is not None else None)
    assert not pushed.stale and pushed.sha256 == sha(new)


def test_twenty_patches_anywhere_in_a_compact_script_each_leave_the_editor_on_sparks_version(
    bridge: McpBridge, server: UnityMcpServer, editor: EditorStandIn
) -> None:
    target = alone(bridge, server, editor.instance_id)
    push(bridge, target, SCRIPT, COMPACT, None)
    changes = [
        ("speed = 1f", "speed = 2f"),
        ("using UnityEngine;\n", "using UnityEngine;\nusing System;\n"),
        ("void Update() {", "private void Update() {"),
        ("speed * Time", "speed * 2f * Time"),
        ("void Start() { }", "void Start() { speed = 3f; }"),
        ("    public float speed", "    public int lives = 3;\n    public float speed"),
        ("}\n", "}\n// end of Mover\n"),
        ("public class Mover", "public sealed class Mover"),
        ("lives = 3", "lives = 5"),
        ("// end of Mover\n", ""),
        ("Translate(0, 0,", "Translate(0f, 0f,"),
        ("    void Start()", "    void Awake() { }\n    void Start()"),
        ("speed = 3f;", "speed = 4f; lives--;"),
        ("using System;\n", ""),
        ("void Awake() { }", "void Awake() { lives = 9; }"),
        ("2f * Time", "Time"),
        ("sealed ", ""),
        ("public int lives", "[SerializeField] public int lives"),
        ("lives--;", ""),
        ("}\n", "}\n"),
    ]
    text = COMPACT
    for old, new in changes:
        changed = text.replace(old, new, 1) if new != old else text + "// again\n"
        push(bridge, target, SCRIPT, changed, text)
        assert sha(editor.read(SCRIPT)) == sha(changed)
        text = changed
    assert len([c for c in editor.calls if c[1] == "manage_script"]) >= 40


def test_an_editor_that_changes_what_it_was_sent_is_reported_refused_never_pushed(
    bridge: McpBridge, server: UnityMcpServer, editor: EditorStandIn
) -> None:
    """An editor with Roslyn reformats edited scripts: its SHA-256 is not SPARK's."""
    target = alone(bridge, server, editor.instance_id)
    push(bridge, target, SCRIPT, COMPACT, None)
    editor.reformat_on_edit = True
    with bridge.attach(target) as session, pytest.raises(EditorRefused) as refused:
        session.write_file(SCRIPT, COMPACT.replace("1f", "2f").encode(), sha(COMPACT))
    assert refused.value.details["code"] == "mismatch"
    assert sha(editor.read(SCRIPT)) in refused.value.message


def test_a_header_before_using_and_an_emoji_on_the_last_line_round_trip(
    bridge: McpBridge, server: UnityMcpServer, editor: EditorStandIn
) -> None:
    target = alone(bridge, server, editor.instance_id)
    header = "// (c) Example Studio — MIT licence\n\n"
    first = header + COMPACT + "// 🎮 tuned"
    push(bridge, target, SCRIPT, first, None)
    second = first.replace("speed = 1f", "speed = 1.5f") + " 🚀!"
    push(bridge, target, SCRIPT, second, first)
    assert editor.read(SCRIPT) == second


def test_a_150_kb_script_is_written_in_edits_under_the_editors_cap_and_matches(
    bridge: McpBridge, server: UnityMcpServer, editor: EditorStandIn
) -> None:
    target = alone(bridge, server, editor.instance_id)
    push(bridge, target, SCRIPT, COMPACT, None)
    fields = "".join(f"    public int field{i} = {i}; // {'x' * 40}\n" for i in range(2500))
    big = COMPACT.replace("    void Start()", fields + "    void Start()")
    assert len(big.encode()) > 150_000
    push(bridge, target, SCRIPT, big, COMPACT)
    assert sha(editor.read(SCRIPT)) == sha(big)
    push(bridge, target, "Assets/Scripts/Big.cs", big, None)
    assert sha(editor.read("Assets/Scripts/Big.cs")) == sha(big)


def test_a_write_over_an_editor_side_change_is_stale_and_leaves_it(
    bridge: McpBridge, server: UnityMcpServer, editor: EditorStandIn
) -> None:
    target = alone(bridge, server, editor.instance_id)
    push(bridge, target, SCRIPT, COMPACT, None)
    mine = COMPACT.replace("1f", "7f")
    editor.write(SCRIPT, mine)
    with bridge.attach(target) as session:
        pushed = session.write_file(SCRIPT, COMPACT.replace("1f", "2f").encode(), sha(COMPACT))
    assert pushed.stale and pushed.current_sha256 == sha(mine)
    assert editor.read(SCRIPT) == mine


def test_a_capture_larger_than_the_game_view_is_super_sized_and_kept_out_of_assets(
    bridge: McpBridge, server: UnityMcpServer, editor: EditorStandIn
) -> None:
    target = alone(bridge, server, editor.instance_id)
    with bridge.attach(target) as session:
        shot = session.screenshot(width=4096, height=4096)
    with Image.open(io.BytesIO(shot.image)) as png:
        assert png.size == (4096, 2304)
    sizes = [c[2].get("superSize") for c in editor.calls if c[1] == "manage_camera"]
    assert sizes[-1] == 3
    assert not list((editor.project_dir / "Assets").rglob("*.png"))


def test_a_reload_during_a_capture_is_waited_for_and_the_capture_succeeds(
    bridge: McpBridge, server: UnityMcpServer, editor: EditorStandIn
) -> None:
    target = alone(bridge, server, editor.instance_id)
    editor.reload_on("manage_camera", down_s=1.5)
    with bridge.attach(target) as session:
        shot = session.screenshot(width=640, height=360)
    assert (shot.width, shot.height) == (640, 360)
    assert len([c for c in editor.calls if c[1] == "manage_camera"]) == 2


def test_no_editor_connected_is_unavailable_within_seconds_and_opens_the_breaker(
    server: UnityMcpServer, store: RedisBreakerStore, leases: RedisLeases
) -> None:
    # a job waits CONNECT_WAIT_S for an editor; the preview acceptance test waits it out
    bridge = McpBridge(store, POLICY, leases=leases, timeout_s=10.0, connect_wait_s=1.0)
    target = alone(bridge, server)
    store.update(breaker_name(server.url), lambda _: BreakerRecord())
    for _ in range(POLICY.failures_to_open):
        start = time.monotonic()
        with (
            pytest.raises(EditorUnavailable, match="no Unity editor is connected"),
            bridge.attach(target),
        ):
            pass
        assert time.monotonic() - start < 10
    start = time.monotonic()
    with pytest.raises(EditorUnavailable, match="is failing"), bridge.attach(target):
        pass
    assert time.monotonic() - start < 1
    assert CircuitBreaker(breaker_name(server.url), store, POLICY).state() is BreakerState.OPEN
    store.update(breaker_name(server.url), lambda _: BreakerRecord())


def test_the_named_instance_gets_the_files_and_none_named_is_an_error_listing_both(
    bridge: McpBridge, server: UnityMcpServer, tmp_path: Path
) -> None:
    alone(bridge, server)
    first, second = stand_in(server, tmp_path, "Alpha"), stand_in(server, tmp_path, "Beta")
    first.start()
    second.start()
    try:
        push(bridge, Editor(server.url, None, second.instance_id), SCRIPT, COMPACT, None)
        assert second.read(SCRIPT) == COMPACT
        assert not (first.project_dir / SCRIPT).exists()
        with pytest.raises(EditorRefused) as refused, bridge.attach(Editor(server.url)):
            pass
        assert set(refused.value.details["instances"]) == {first.instance_id, second.instance_id}
        assert first.instance_id in refused.value.message
    finally:
        first.stop()
        second.stop()


def test_two_jobs_pushing_to_one_instance_never_interleave(
    bridge: McpBridge, server: UnityMcpServer, editor: EditorStandIn, redis_url: str
) -> None:
    target = alone(bridge, server, editor.instance_id)
    other = McpBridge(
        RedisBreakerStore(redis_url), POLICY, leases=RedisLeases(redis_url), timeout_s=10.0
    )
    errors: list[BaseException] = []

    def job(through: McpBridge, name: str) -> None:
        try:
            with through.attach(target) as session:
                for n in range(3):
                    path = f"Assets/Scripts/{name}{n}.cs"
                    session.write_file(path, COMPACT.replace("Mover", f"{name}{n}").encode(), None)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=job, args=(b, n)) for b, n in ((bridge, "A"), (other, "B"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    owners = [
        c[2].get("name", "")[0]
        for c in editor.calls
        if c[1] == "manage_script" and c[2].get("name", "")[:1] in ("A", "B")
    ]
    assert len(owners) >= 12
    assert owners in (sorted(owners), sorted(owners, reverse=True))


def test_an_unreachable_server_is_unavailable_naming_its_url(bridge: McpBridge) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with (
        pytest.raises(EditorUnavailable, match=url.replace("/mcp", "")),
        bridge.attach(Editor(url)),
    ):
        pass


def test_in_hosted_mode_every_call_names_its_instance_and_the_key_is_never_logged(
    store: RedisBreakerStore,
    leases: RedisLeases,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key = "hosted-key-" + uuid.uuid4().hex
    with running_server(free_port(), remote_hosted_api_key=key) as hosted:
        standin = EditorStandIn(
            hosted.hub_url, tmp_path / "G", project_name="G", project_hash="0a1b2c3d", api_key=key
        )
        standin.start()
        try:
            bridge = McpBridge(store, POLICY, leases=leases, timeout_s=10.0, wait_s=10.0)
            push(bridge, Editor(hosted.url, key), SCRIPT, COMPACT, None)
            assert standin.read(SCRIPT) == COMPACT
            with pytest.raises(EditorUnavailable), bridge.attach(Editor(hosted.url, "wrong")):
                pass
        finally:
            standin.stop()
    # the stand-in's own WebSocket client logs its headers; nothing of SPARK's side may
    logged = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets")]
    assert logged and not [line for line in logged if key in line]


@pytest.mark.parametrize("lands", [True, False], ids=["write-lands", "write-lost"])
def test_a_reload_in_the_middle_of_a_write_still_leaves_sparks_version(
    bridge: McpBridge, server: UnityMcpServer, editor: EditorStandIn, lands: bool
) -> None:
    """The editor drops its connection on the edit, before or after writing it; either way the
    file ends as SPARK's version and is reported pushed."""
    target = alone(bridge, server, editor.instance_id)
    push(bridge, target, SCRIPT, COMPACT, None)
    editor.reload_on("manage_script:apply_text_edits", down_s=1.0, after_running=lands)
    push(bridge, target, SCRIPT, COMPACT.replace("1f", "2f"), COMPACT)
    assert editor.read(SCRIPT) == COMPACT.replace("1f", "2f")
