"""unity-mcp's real server (PyPI `mcpforunityserver`, pinned in unity-mcp-server.txt) as a
process on 127.0.0.1 in HTTP mode, for tests that stand only the Unity Editor in
(tests/support/unity_editor.py).

    with running_server(free_port()) as server:
        editor = EditorStandIn(server.hub_url, project_dir)
        editor.start()
        ...  # an MCP client on server.url

The server lives in its own venv, `.venv/unity-mcp` (`make .venv/unity-mcp/.installed`): its
dependencies (fastmcp 3, mcp 1.x, top-level modules `core`, `models`, `services`, ...) clash
with SPARK's. It runs as it does for users, except that:
- its environment has nothing of pytest's: with PYTEST_CURRENT_TEST set it skips its readiness
  waits (refresh_unity.py, preflight.py, editor_state.py all check for it);
- HOME and the XDG folders are a temporary folder (its log, its telemetry id, FastMCP's cache);
- its telemetry is off (DISABLE_TELEMETRY and friends, core/telemetry.py `_is_disabled`), and
  FastMCP's banner and its PyPI version check are off; everything else it contacts is on
  127.0.0.1 (the API-key validation endpoint below, its legacy port discovery).

Remote-hosted mode (`remote_hosted_api_key=`): `--http-remote-hosted` with
`--api-key-validation-url` pointing at a small endpoint on 127.0.0.1 that answers the server's
POST {"api_key": k} (services/api_key_service.py) with {"valid": true, "user_id": "u1"} for
that one key and {"valid": false} for any other. Plugins and MCP clients then both need the key
in X-API-Key, and every tool call must name its unity_instance.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

import httpx

from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVER_VENV = ROOT / ".venv" / "unity-mcp"
SERVER_SCRIPT = SERVER_VENV / "bin" / "mcp-for-unity"
#: the user id the validation endpoint gives the one valid key
USER_ID = "u1"

# Set by the developer's shell or by pytest; none of them may reach the server.
_DROPPED_PREFIXES = ("PYTEST_", "_PYTEST", "UNITY_MCP_", "FASTMCP_", "COV_CORE_")
_DROPPED = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "MCP_DISABLE_TELEMETRY"}


def server_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment: this process's minus anything pytest's or unity-mcp's, with
    HOME and the XDG folders under home, telemetry and update checks off."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _DROPPED and not k.startswith(_DROPPED_PREFIXES)
    }
    folders = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_CACHE_HOME": home / ".cache",
        "UNITY_MCP_LOG_DIR": home / "logs",
        "UNITY_MCP_STATUS_DIR": home / ".unity-mcp",
    }
    env.update({k: str(v) for k, v in folders.items()})
    env.update(
        {
            "DISABLE_TELEMETRY": "true",
            "UNITY_MCP_DISABLE_TELEMETRY": "true",
            "MCP_DISABLE_TELEMETRY": "true",
            "FASTMCP_CHECK_FOR_UPDATES": "off",
            "FASTMCP_SHOW_SERVER_BANNER": "false",
            # run_tests' focus nudge raises desktop windows (utils/focus_nudge.py)
            "UNITY_MCP_DISABLE_FOCUS_NUDGE": "true",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


class KeyValidator:
    """The API-key validation endpoint of remote-hosted mode, on 127.0.0.1 in a thread."""

    def __init__(self, api_key: str, user_id: str = USER_ID) -> None:
        self.api_key, self.user_id = api_key, user_id
        self.checked: list[str] = []
        validator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    key = json.loads(self.rfile.read(length) or b"{}").get("api_key")
                except (ValueError, AttributeError):
                    key = None
                validator.checked.append(str(key))
                answer: dict[str, object] = {"valid": False}
                if key == validator.api_key:
                    answer = {"valid": True, "user_id": validator.user_id}
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="unity-mcp-key-validator", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/validate"

    def start(self) -> KeyValidator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()


class UnityMcpServer:
    """`mcp-for-unity --transport http` on 127.0.0.1:port, its home and log in a temp folder."""

    def __init__(
        self,
        port: int,
        *,
        remote_hosted_api_key: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.port = port
        self.api_key = remote_hosted_api_key
        self._extra_env = dict(env or {})
        self._tmp = tempfile.TemporaryDirectory(prefix="unity-mcp-real-")
        self.home = Path(self._tmp.name)
        self.log = self.home / "server.log"
        self.validator: KeyValidator | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """The MCP endpoint (streamable HTTP), as SPARK_UNITY_MCP_URL would name it."""
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def hub_url(self) -> str:
        """The WebSocket hub the Unity plugin connects to."""
        return f"ws://127.0.0.1:{self.port}/hub/plugin"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        argv = [str(SERVER_SCRIPT), "--transport", "http", "--http-host", "127.0.0.1"]
        argv += ["--http-port", str(self.port)]
        if self.validator is not None:
            argv += ["--http-remote-hosted", "--api-key-validation-url", self.validator.url]
        return argv

    def start(self, timeout: float = 30.0) -> UnityMcpServer:
        """Start the server and wait until GET /health answers 200."""
        if not SERVER_SCRIPT.exists():
            raise RuntimeError(
                f"unity-mcp's server is not installed at {SERVER_VENV}: "
                "run `make .venv/unity-mcp/.installed`"
            )
        if self.api_key is not None and self.validator is None:
            self.validator = KeyValidator(self.api_key).start()
        self._log_file = self.log.open("ab")
        self._process = subprocess.Popen(
            self.argv(),
            cwd=self.home,
            env=server_env(self.home, self._extra_env),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = self.log_text()
                self.stop()
                raise RuntimeError(f"mcp-for-unity exited with {self._process.returncode}:\n{log}")
            if self.healthy():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"mcp-for-unity did not answer /health:\n{self.log_text()}")

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/health", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    def instances(self) -> list[dict[str, object]]:
        """GET /api/instances: the plugin sessions (local mode only; remote-hosted mode has
        no /api routes)."""
        answer = httpx.get(f"{self.base_url}/api/instances", timeout=5.0).json()
        return list(answer.get("instances") or [])

    def stop(self) -> None:
        """Stop the server (its log stays readable until cleanup)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.validator is not None:
            self.validator.stop()
            self.validator = None

    def cleanup(self) -> None:
        """Stop, and remove the temporary home (log included)."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
        self._tmp.cleanup()

    def log_text(self) -> str:
        """The server's console output, then its own log file (unity_mcp_server.log)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        own = self.home / "logs" / "unity_mcp_server.log"
        if own.exists():
            text += "\n--- unity_mcp_server.log ---\n" + own.read_text(errors="replace")
        return text

    def __enter__(self) -> UnityMcpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


@contextmanager
def running_server(
    port: int | None = None,
    *,
    remote_hosted_api_key: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[UnityMcpServer]:
    """A started UnityMcpServer, stopped and cleaned up on exit; its log is printed when the
    block fails (pytest shows it with the failure)."""
    server = UnityMcpServer(
        port or free_port(), remote_hosted_api_key=remote_hosted_api_key, env=env
    ).start()
    try:
        yield server
    except BaseException:
        print(server.log_text()[-20000:])
        raise
    finally:
        server.cleanup()
