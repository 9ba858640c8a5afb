"""Deleting files in the editor through unity-mcp's real server, with the Unity Editor stood in
(tests/support/unity_editor.py): a script only when the editor holds SPARK's version of it,
anything else never, and a file the editor lacks is gone already."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spark.engines.unity.bridge import EditorRefused
from spark.engines.unity.mcp_bridge import McpBridge
from spark.kv.leases import RedisLeases
from spark.kv.redis_store import RedisBreakerStore
from tests.integration.test_editor_bridge import COMPACT, POLICY, SCRIPT, alone, push, sha
from tests.integration.test_editor_bridge import stand_in as new_stand_in
from tests.support.services import free_port
from tests.support.unity_editor import EditorStandIn
from tests.support.unity_mcp_real import UnityMcpServer, running_server

pytestmark = pytest.mark.integration

MATERIAL = "Assets/Materials/Gold.mat"


@pytest.fixture(scope="module")
def server() -> Iterator[UnityMcpServer]:
    with running_server(free_port()) as running:
        yield running


@pytest.fixture
def bridge(redis_url: str) -> McpBridge:
    store, leases = RedisBreakerStore(redis_url), RedisLeases(redis_url)
    return McpBridge(store, POLICY, leases=leases, timeout_s=10.0, wait_s=20.0)


@pytest.fixture
def editor(server: UnityMcpServer, tmp_path: Path) -> Iterator[EditorStandIn]:
    running = new_stand_in(server, tmp_path)
    running.start()
    yield running
    running.stop()


def commands(editor: EditorStandIn, name: str, action: str) -> list[dict[str, object]]:
    return [p for _, got, p in editor.calls if got == name and p.get("action") == action]


def test_a_script_holding_sparks_version_is_deleted_with_its_meta(
    bridge: McpBridge, server: UnityMcpServer, editor: EditorStandIn
) -> None:
    target = alone(bridge, server, editor.instance_id)
    push(bridge, target, SCRIPT, COMPACT, None)
    editor.write(SCRIPT + ".meta", "fileFormatVersion: 2\nguid: 0123456789abcdef\n")
    with bridge.attach(target) as session:
        done = session.delete_file(SCRIPT, sha(COMPACT))
    assert not done.stale and done.sha256 is None
    assert not (editor.project_dir / SCRIPT).exists()
    assert not (editor.project_dir / (SCRIPT + ".meta")).exists()
    [deleted] = commands(editor, "manage_script", "delete")
    assert (deleted["name"], deleted["path"]) == ("Mover", "Assets/Scripts")


def test_a_script_edited_in_the_editor_is_left_alone_and_reported_stale(
    bridge: McpBridge, server: UnityMcpServer, editor: EditorStandIn
) -> None:
    target = alone(bridge, server, editor.instance_id)
    theirs = COMPACT.replace("speed = 1f", "speed = 4f")
    editor.write(SCRIPT, theirs)
    with bridge.attach(target) as session:
        done = session.delete_file(SCRIPT, sha(COMPACT))
    assert done.stale
    assert (done.expected_sha256, done.current_sha256) == (sha(COMPACT), sha(theirs))
    assert editor.read(SCRIPT) == theirs
    assert commands(editor, "manage_script", "delete") == []


def test_a_script_the_editor_does_not_have_is_deleted_already(
    bridge: McpBridge, server: UnityMcpServer, editor: EditorStandIn
) -> None:
    target = alone(bridge, server, editor.instance_id)
    with bridge.attach(target) as session:
        done = session.delete_file(SCRIPT, sha(COMPACT))
    assert not done.stale and done.sha256 is None
    assert commands(editor, "manage_script", "delete") == []


def test_an_asset_that_is_no_script_is_never_deleted_and_is_gone_already_when_absent(
    bridge: McpBridge, server: UnityMcpServer, editor: EditorStandIn
) -> None:
    """unity-mcp cannot read a material's content, so its copy cannot be compared with
    SPARK's: it is refused and kept; one the editor lacks needs nothing."""
    target = alone(bridge, server, editor.instance_id)
    with bridge.attach(target) as session:
        absent = session.delete_file(MATERIAL, sha("material"))
        editor.write(MATERIAL, "material")
        with pytest.raises(EditorRefused, match="cannot be compared"):
            session.delete_file(MATERIAL, sha("material"))
    assert not absent.stale and absent.sha256 is None
    assert editor.read(MATERIAL) == "material"
    assert [p["path"] for p in commands(editor, "manage_asset", "get_info")] == [MATERIAL] * 2
    assert commands(editor, "manage_asset", "delete") == []
