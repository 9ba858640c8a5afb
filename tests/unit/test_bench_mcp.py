"""`spark bench --mcp`: its command line, the MCP request wrk sends, and how the two sides'
figures become the ratios and the 2x goal."""

from __future__ import annotations

import json

import pytest
import typer

from bench._wrk import WrkResult, script
from bench.bench_mcp import (
    MCP_OK,
    MODERN_VERSION,
    PROTOCOL_VERSION,
    Level,
    Report,
    Side,
    levels_for,
    mcp_call,
    mcp_headers,
    render,
    sse_messages,
)
from spark.cli.bench import _argv, _load_bench


def _side(requests: int, seconds: float, p50: float, p99: float) -> Side:
    wrk = WrkResult(requests, seconds, p50, p99, p99 * 2, socket_errors=0, bad_status=0)
    return Side(wrk, api_cpu_ms=1.0)


def test_spark_bench_mcp_runs_the_mcp_benchmark_for_seconds_with_connections() -> None:
    assert _argv(False, 1, None, None, False, mcp=True) == [
        "--seconds",
        "10",
        "--connections",
        "32",
    ]
    argv = _argv(False, 1, None, 8, True, seconds=3, mcp=True)
    assert argv == ["--seconds", "3", "--connections", "8", "--json"]
    assert callable(_load_bench("bench_mcp"))


def test_mcp_is_one_benchmark_among_the_others_and_takes_no_job_count() -> None:
    with pytest.raises(typer.BadParameter, match="--mcp"):
        _argv(False, 1, None, None, False, verify=True, mcp=True)
    with pytest.raises(typer.BadParameter, match="--mcp"):
        _argv(True, 1, None, None, False, mcp=True)
    with pytest.raises(typer.BadParameter, match="MCP benchmark runs for --seconds"):
        _argv(False, 1, 100, None, False, mcp=True)


def test_the_mcp_request_is_a_stateless_get_job_call_any_client_would_send() -> None:
    call = mcp_call("j-1")
    assert call["method"] == "tools/call"
    assert call["params"] == {"name": "get_job", "arguments": {"job_id": "j-1"}}
    headers = mcp_headers("tok")
    assert headers["Authorization"] == "Bearer tok"
    assert headers["Accept"] == "application/json, text/event-stream"
    assert headers["MCP-Protocol-Version"] == PROTOCOL_VERSION
    assert "Mcp-Session-Id" not in headers and "_meta" not in call["params"]


def test_a_2026_07_28_call_carries_its_envelope_and_repeats_method_and_name_in_headers() -> None:
    meta = mcp_call("j-1", MODERN_VERSION)["params"]["_meta"]
    assert meta["io.modelcontextprotocol/protocolVersion"] == MODERN_VERSION
    assert meta["io.modelcontextprotocol/clientCapabilities"] == {}
    headers = mcp_headers("tok", MODERN_VERSION)
    assert headers["MCP-Protocol-Version"] == MODERN_VERSION
    assert (headers["Mcp-Method"], headers["Mcp-Name"]) == ("tools/call", "get_job")


def test_the_event_stream_answer_is_read_as_its_json_rpc_messages() -> None:
    result = {"jsonrpc": "2.0", "id": 1, "result": {"structuredContent": {"id": "j-1"}}}
    stream = f"event: message\r\ndata: {json.dumps(result, separators=(',', ':'))}\r\n\r\n"
    assert sse_messages(stream) == [result]
    assert MCP_OK in stream
    assert sse_messages(json.dumps(result)) == [result]  # a 2026-07-28 answer without progress


def test_wrk_counts_bodies_without_the_expected_text_only_when_asked() -> None:
    checked = script("POST", ["/mcp"], mcp_headers("tok"), "{}", expect=MCP_OK)
    assert "response = function" in checked and json.dumps(MCP_OK) in checked
    plain = script("GET", ["/v1/jobs/x"], {}, None)
    assert "response = function" not in plain


def test_the_ratios_are_each_mcp_side_over_http_and_the_goal_is_p50_within_twice() -> None:
    mcp = (("MCP a", _side(5_000, 10, 19.0, 100.0)), ("MCP b", _side(2_000, 10, 30.0, 80.0)))
    level = Level(32, http=_side(20_000, 10, 10.0, 40.0), mcp=mcp)
    (a_name, a), (b_name, b) = level.ratios()
    assert (a_name, b_name) == ("MCP a", "MCP b")
    assert (a.p50, a.p99, a.per_s) == pytest.approx((1.9, 2.5, 0.25))
    assert a.goal_met and not b.goal_met
    slow = Level(1, http=_side(3_000, 10, 3.0, 9.0), mcp=(("MCP a", _side(1_000, 10, 6.3, 20)),))
    text = render(Report("servers", 10, (slow, level)))
    assert "MCP a / HTTP at 1 connection(s): p50 2.10x" in text
    assert "MCP a / HTTP at 32 connection(s): p50 1.90x" in text
    assert "MCP b / HTTP at 32 connection(s): p50 3.00x" in text and "NOT met" in text
    figures = Report("servers", 10, (level,)).as_dict()["levels"][0]
    assert figures["over_http"]["MCP a"]["goal_met"] is True
    assert set(figures["sides"]) == {"http", "MCP a", "MCP b"}


def test_one_connection_is_always_measured_and_the_loaded_level_once() -> None:
    assert levels_for(1) == (1,)
    assert levels_for(32) == (1, 32)
