"""A minimal OpenAI-compatible chat-completions server for bench_llm, on 127.0.0.1 only.

    .venv/bin/python -m bench._fake_llm --port PORT

Every POST /v1/chat/completions is answered at once with a `write_script` tool call carrying
COIN_SCRIPT (a valid Unity MonoBehaviour) and a usage block; GET /stats answers
{"requests": n}, so the benchmark can check that each job made exactly one call. start() and
answered() are the benchmark's side: run the server as a child process, read its count.

Why a stdlib ThreadingHTTPServer, run as a subprocess:

- A subprocess, so the server's CPU and GIL are not the client's: in-process, phase (a)'s
  interpreter would serve its own requests between calls, and its CPU figure would mix both
  ends of the wire. Both phases talk to the same process, so its cost cancels in the overhead
  (b) - (a), and the benchmark reports its CPU per call separately.
- The standard library rather than uvicorn + Starlette: no framework cost per request and no
  event loop to start; the answer is encoded once per model name. Both phases send one request
  at a time, so a thread per keep-alive connection is all the concurrency it needs. HTTP/1.1
  keep-alive (the openai SDK reuses its connection), one buffered write per response and
  TCP_NODELAY keep a call well under a millisecond, without Nagle/delayed-ACK stalls.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import httpx

from bench._procs import Proc, child_env, free_port

COMPLETIONS_PATH = "/v1/chat/completions"
STATS_PATH = "/stats"
READY_MARKER = "fake LLM listening"
PROMPT_TOKENS, COMPLETION_TOKENS = 412, 236

#: the script every answer carries: `Coin : MonoBehaviour`, no namespace, parses cleanly
COIN_SCRIPT = """\
using UnityEngine;

/// <summary>A coin that spins in place and disappears when the player collects it.</summary>
public class Coin : MonoBehaviour
{
    [SerializeField, Tooltip("Degrees per second around the world Y axis.")]
    private float spinSpeed = 180f;

    [SerializeField, Tooltip("Points the coin is worth.")]
    private int value = 1;

    [SerializeField, Tooltip("Tag of the object that can collect the coin.")]
    private string collectorTag = "Player";

    /// <summary>Points the coin is worth.</summary>
    public int Value => value;

    private void Update()
    {
        transform.Rotate(0f, spinSpeed * Time.deltaTime, 0f, Space.World);
    }

    private void OnTriggerEnter(Collider other)
    {
        if (other.CompareTag(collectorTag))
        {
            gameObject.SetActive(false);
        }
    }
}
"""


def completion(model: str) -> dict[str, Any]:
    """A chat.completion object whose only choice calls write_script with COIN_SCRIPT."""
    call = {
        "id": "call_bench",
        "type": "function",
        "function": {"name": "write_script", "arguments": json.dumps({"code": COIN_SCRIPT})},
    }
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        "usage": {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        },
    }


class FakeServer(ThreadingHTTPServer):
    """The server, counting the completions it answered; answers are encoded once per model."""

    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.requests = 0
        self._lock = threading.Lock()
        self._bodies: dict[str, bytes] = {}

    def answer(self, model: str) -> bytes:
        """The encoded completion for model; counts the request."""
        with self._lock:
            self.requests += 1
            body = self._bodies.get(model)
            if body is None:
                body = self._bodies[model] = json.dumps(completion(model)).encode()
            return body


def _error(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error"}}).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the SDK reuses one connection
    disable_nagle_algorithm = True
    wbufsize = -1  # buffered: headers and body leave in one write, flushed after each request

    def log_message(self, format: str, *args: Any) -> None:
        """No access log."""

    def do_POST(self) -> None:
        """A chat completion; anything else is a 404 (the body is read either way)."""
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != COMPLETIONS_PATH:
            self._send(404, _error(f"no route {self.path}"))
            return
        try:
            model = str(json.loads(raw).get("model") or "fake-model")
        except (ValueError, AttributeError):
            self._send(400, _error("the body is not a JSON object"))
            return
        self._send(200, cast(FakeServer, self.server).answer(model))

    def do_GET(self) -> None:
        """GET /stats: how many completions were answered."""
        if self.path != STATS_PATH:
            self._send(404, _error(f"no route {self.path}"))
            return
        self._send(200, json.dumps({"requests": cast(FakeServer, self.server).requests}).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def start(workdir: Path, procs: list[Proc]) -> tuple[str, Proc]:
    """Run the server as a child process (added to procs); its root URL and the process."""
    port = free_port()
    server = Proc(
        "fake-llm", ["-m", "bench._fake_llm", "--port", str(port)], child_env({}), workdir
    )
    procs.append(server)
    server.start()
    server.wait_for_log(READY_MARKER, timeout=20)
    return f"http://127.0.0.1:{port}", server


def answered(root_url: str) -> int:
    """How many completions the server at root_url has answered."""
    return int(httpx.get(f"{root_url}{STATS_PATH}", timeout=5.0).json()["requests"])


def check_script(class_name: str = "Coin") -> None:
    """Raise unless COIN_SCRIPT passes SPARK's own checks (else every job repairs: two calls)."""
    # Imported here, so the server process does not load SPARK.
    from spark.engines.unity.csharp import check_syntax
    from spark.engines.unity.declarations import check_declaration

    code = COIN_SCRIPT
    problems = check_syntax(code) or check_declaration(code, class_name, None, "MonoBehaviour")
    if problems:
        raise RuntimeError(f"bench._fake_llm.COIN_SCRIPT fails SPARK's checks: {problems}")


def main(argv: list[str] | None = None) -> int:
    """Serve on 127.0.0.1:--port until killed."""
    parser = argparse.ArgumentParser(prog="bench._fake_llm", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    opts = parser.parse_args(argv)
    with FakeServer(opts.port) as server:
        print(f"{READY_MARKER} on http://127.0.0.1:{opts.port}/v1", flush=True)
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
