"""A small OpenAI-compatible chat-completions server on 127.0.0.1, scripted by the test.

It speaks the wire format the openai SDK expects (tool calls, usage, error bodies), records
every request it receives, and answers from a queue of scripted replies, each after an
optional latency, as a remote model takes its time. Run as a program
(`python -m tests.support.fake_llm --host A --port P --latency-s S --code-file F`), it serves
one reply forever on another machine of the multi-host tests.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: a script a generation of the door job answers with: valid C#, the class the job asks for
DOOR_SCRIPT = """using UnityEngine;

namespace Studio.Game
{
    public class Door : MonoBehaviour
    {
        [SerializeField] private float openAngle = 90f;

        public void Open()
        {
            transform.localRotation = Quaternion.Euler(0f, openAngle, 0f);
        }
    }
}
"""
#: a generate_script job (no project) whose answer DOOR_SCRIPT is
DOOR_JOB = {
    "kind": "generate_script",
    "params": {
        "prompt": "a door that opens when the player comes near",
        "class_name": "Door",
        "namespace": "Studio.Game",
    },
}


@dataclass
class Reply:
    """One scripted answer: code by tool call (default), fenced text, or an HTTP error; or,
    for a model offered SPARK's tools, the calls it makes (`calls`: (name, arguments) each) or
    its plain `text`."""

    code: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    text: str | None = None
    as_text: bool = False
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int = 120
    completion_tokens: int = 80


@dataclass
class Seen:
    """A request as the server received it."""

    at: float
    headers: dict[str, str]
    body: dict[str, Any]


class FakeLLM:
    """The server; `replies` are consumed in order, the last one repeats."""

    def __init__(
        self,
        replies: list[Reply],
        refuse_tools: bool = False,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        latency_s: float = 0.0,
    ) -> None:
        self.replies = list(replies)
        self.refuse_tools = refuse_tools
        #: how long every completion takes before its answer
        self.latency_s = latency_s
        self.seen: list[Seen] = []
        #: GET /models requests (health checks), apart from the completions in seen
        self.listed: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeLLM:
        self._thread.start()
        return self

    def serve(self) -> None:
        """Serve in this thread until the process ends."""
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self) -> Reply:
        with self._lock:
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").rsplit("/", 1)[-1] != "models":
                    self._send(404, {"error": {"message": "not found", "type": "not_found"}})
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                fake.listed.append(Seen(time.monotonic(), headers, {}))
                self._send(200, models())

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.seen.append(
                    Seen(time.monotonic(), {k.lower(): v for k, v in self.headers.items()}, body)
                )
                if fake.refuse_tools and "tools" in body:
                    self._send(
                        400,
                        {
                            "error": {
                                "message": "tools are not supported",
                                "type": "invalid_request_error",
                            }
                        },
                    )
                    return
                reply = fake._next()
                if fake.latency_s:
                    time.sleep(fake.latency_s)
                if reply.status != 200:
                    self._send(
                        reply.status,
                        {"error": {"message": "scripted failure", "type": "rate_limit_error"}},
                        reply.headers,
                    )
                    return
                self._send(200, completion(body, reply))

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def models() -> dict[str, Any]:
    """The model list, as GET /v1/models answers it."""
    created = int(time.time())
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": created, "owned_by": "spark-tests"}
            for name in ("fake-model", "fake-creative-model")
        ],
    }


def completion(request: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """A chat.completion object answering request with reply."""
    message, finish = _message(request, reply)
    usage = {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "fake-model"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage,
    }


def _message(request: dict[str, Any], reply: Reply) -> tuple[dict[str, Any], str]:
    """The assistant message and finish reason of reply: scripted tool calls or text first."""
    if reply.calls:
        calls = [
            {
                "id": f"call_{len(request.get('messages', []))}_{i}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            for i, (name, arguments) in enumerate(reply.calls)
        ]
        return {"role": "assistant", "content": None, "tool_calls": calls}, "tool_calls"
    if reply.text is not None:
        return {"role": "assistant", "content": reply.text}, "stop"
    if reply.as_text or "tools" not in request:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": f"Here you go:\n```csharp\n{reply.code}\n```",
        }
        finish = "stop"
    else:
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "write_script",
                        "arguments": json.dumps({"code": reply.code}),
                    },
                }
            ],
        }
        finish = "tool_calls"
    return message, finish


def main() -> None:
    """Serve one reply (the code in --code-file) until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-s", type=float, default=0.0)
    parser.add_argument("--code-file", required=True)
    args = parser.parse_args()
    code = Path(args.code_file).read_text(encoding="utf-8")
    fake = FakeLLM([Reply(code)], port=args.port, host=args.host, latency_s=args.latency_s)
    print(fake.base_url, flush=True)
    fake.serve()


if __name__ == "__main__":
    main()
