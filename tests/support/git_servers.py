"""Git servers on 127.0.0.1 for build tests: `git daemon` (git://) and git's smart-HTTP
backend (http://), each serving the bare repositories under one folder, and the commits a
test pushes to them."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from tests.support.services import free_port

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(cwd: Path, *args: str) -> str:
    """Run git in cwd as a test author; its stdout."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def publish(work: Path, bare: Path) -> str:
    """Commit everything in the work tree and push it to the bare repository's main; the
    commit's id. The work tree becomes a repository on its first call."""
    if not (work / ".git").is_dir():
        git(work, "init", "-q", "-b", "main")
        git(bare.parent, "init", "-q", "--bare", "-b", "main", str(bare))
        git(work, "remote", "add", "origin", str(bare))
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "publish")
    git(work, "push", "-q", "origin", "main")
    return git(work, "rev-parse", "HEAD")


def wait_listening(port: int, timeout: float = 10.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(0.05)


class GitDaemon:
    """`git daemon` exporting every repository under base at git://127.0.0.1:<port>/."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.url = f"git://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> GitDaemon:
        command = [
            *("git", "daemon", f"--base-path={self.base}", "--export-all", "--reuseaddr"),
            *("--listen=127.0.0.1", f"--port={self.port}", str(self.base)),
        ]
        # Its children report a client hanging up on stderr: noise for a test.
        self._proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.port)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._proc is not None
        self._proc.terminate()
        self._proc.wait(timeout=10)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class SmartHttp:
    """`git http-backend` (the smart-HTTP protocol, as a forge serves it) behind a WSGI
    server, exporting every repository under base at http://127.0.0.1:<port>/git/."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._server: WSGIServer = make_server("127.0.0.1", 0, self._app, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}/git"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SmartHttp:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _app(self, environ: dict[str, object], start_response: object) -> list[bytes]:
        """Run git http-backend as the CGI program it is, for one request."""
        length = int(str(environ.get("CONTENT_LENGTH") or 0))
        body = environ["wsgi.input"].read(length) if length else b""  # type: ignore[attr-defined]
        cgi = {
            "GIT_PROJECT_ROOT": str(self.base),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": str(environ["PATH_INFO"]).removeprefix("/git"),
            **{
                name: str(environ.get(name, ""))
                for name in ("REQUEST_METHOD", "QUERY_STRING", "CONTENT_TYPE", "REMOTE_ADDR")
            },
            "CONTENT_LENGTH": str(len(body)),
            "GIT_PROTOCOL": str(environ.get("HTTP_GIT_PROTOCOL", "")),
        }
        done = subprocess.run(
            ["git", "http-backend"], input=body, env={**os.environ, **cgi}, capture_output=True
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        headers = [tuple(line.split(": ", 1)) for line in head.decode().split("\r\n") if line]
        status = dict(headers).pop("Status", "200 OK")
        start_response(status, [h for h in headers if h[0] != "Status"])  # type: ignore[operator]
        return [payload]
