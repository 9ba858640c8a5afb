"""Reading unity-mcp's answers: which instance a job gets, and which answers mean the instance
was not there to answer (ask again once it is back) rather than a refusal."""

from __future__ import annotations

from typing import Any

import pytest

from spark.engines.unity.bridge import EditorInstance
from spark.engines.unity.mcp_calls import Answer, call_timeout, choose

ALPHA = EditorInstance("Alpha@a1b2c3d4", "Alpha", "a1b2c3d4")
BETA = EditorInstance("Beta@b5e6f7a8", "Beta", "b5e6f7a8")


def test_the_only_instance_connected_is_used_when_none_is_named() -> None:
    assert choose(None, [ALPHA]) == ALPHA
    assert choose(None, []) is None


def test_several_connected_and_none_named_is_a_message_naming_them_all() -> None:
    found = choose(None, [BETA, ALPHA])
    assert isinstance(found, str)
    assert "Alpha@a1b2c3d4, Beta@b5e6f7a8" in found


@pytest.mark.parametrize("named", ["Beta@b5e6f7a8", "b5e6", "beta", "BETA@B5E6F7A8"])
def test_an_instance_is_named_by_id_hash_prefix_or_project_name(named: str) -> None:
    assert choose(named, [ALPHA, BETA]) == BETA


def test_a_named_instance_that_is_not_connected_is_none() -> None:
    assert choose("Gamma@00000000", [ALPHA, BETA]) is None


def test_a_prefix_two_hashes_share_is_ambiguous() -> None:
    twin = EditorInstance("Alpha@a1ffffff", "Alpha", "a1ffffff")
    found = choose("a1", [ALPHA, twin])
    assert isinstance(found, str) and "Name@hash" in found


def away(payload: dict[str, Any]) -> bool:
    return Answer(payload).instance_away


def test_the_servers_answers_for_a_missing_or_reloading_instance_mean_away() -> None:
    assert away(
        {
            "success": False,
            "error": "Unity session not available; please retry",
            "hint": "retry",
            "data": {"reason": "no_unity_session", "retry_after_ms": 250},
        }
    )
    assert away(
        {
            "success": False,
            "error": "Unity plugin session 1 disconnected while awaiting command_result",
            "hint": "retry",
        }
    )
    assert away(
        {
            "success": False,
            "code": "mcp_error",
            "error": "Instance 'X@1' not found. Available: none.",
        }
    )
    assert away(
        {"success": False, "error": "busy", "data": {"reason": "compiling"}, "hint": "retry"}
    )


def test_the_editors_own_refusals_and_successes_are_not_away() -> None:
    assert not away({"success": False, "code": "stale_file", "error": "stale_file"})
    assert not away({"success": False, "code": "using_guard", "error": "using_guard"})
    assert not away({"success": True, "message": "ok"})


def test_the_pause_asked_for_is_honoured_within_bounds() -> None:
    assert Answer({"success": False, "data": {"retry_after_ms": 500}}).retry_after_s == 0.5
    assert Answer({"success": False, "data": {"retry_after_ms": 60_000}}).retry_after_s == 2.0
    assert Answer({"success": False}).retry_after_s == 0.25


def test_each_tools_timeout_outlasts_the_servers_own_waits() -> None:
    # a script write: 20 s for an instance, 30 s for the command, 30 s for the compile after
    assert call_timeout("apply_text_edits", 30) > 20 + 30 + 30
    assert call_timeout("refresh_unity", 30) > 20 + 30 + 60
    assert call_timeout("unknown_tool", 30) > 20 + 30
