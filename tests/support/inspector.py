"""The MCP Inspector CLI (npm `@modelcontextprotocol/inspector`) as a third-party MCP client.

    inspector = installed_inspector()          # npm install on the first run, then reused
    run = inspector.call(url, "tools/list", headers=bearer(key), home=tmp_path)
    assert run.code == OK, run.stderr
    run.result["tools"]

The package is pinned and installed with npm into a cache folder outside the checkout
(`$XDG_CACHE_HOME/spark-test`, else `~/.cache/spark-test`), so runs and worktrees share one
install and `make clean` does not throw it away. `make test` and `make acceptance` install it
first (`python -m tests.support.inspector`), out of any test's timeout; a bare pytest run
installs it in its module fixture. The install takes a file lock, so processes running at once
install it once. Without npm or node, or when the install fails, `InspectorUnavailable` says
what is missing: the tests fail with it, they never skip.

Each run gets its own HOME: the Inspector keeps a server catalog and OAuth tokens under
`~/.mcp-inspector`, and a token stored there by an earlier run (or by the developer) must
never stand in for the headers a test gives. `--stored-auth-only` keeps it from starting an
interactive OAuth login when the server answers 401: it exits with `AUTH_REQUIRED` instead.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE = "@modelcontextprotocol/inspector"
#: npm's latest when pinned; declares Node >= 22.19 but its CLI runs on Node 20 (npm warns
#: EBADENGINE and installs it)
VERSION = "2.12.0"
#: the CLI's exit codes
OK = 0
AUTH_REQUIRED = 3
UNREACHABLE = 4
#: an unknown tool or a tool result with isError set
TOOL_ERROR = 5

_INSTALL_TIMEOUT = 600.0
#: a bound for a wedged run, never a wait; under pytest's 120 s per test, so a wedged run
#: fails naming the CLI rather than as a bare pytest timeout
_RUN_TIMEOUT = 90.0


class InspectorUnavailable(RuntimeError):
    """npm or node is missing, or the package could not be installed."""


@dataclass(frozen=True)
class InspectorRun:
    """One CLI run: its exit code, its `--format json` answer and its raw output."""

    code: int
    stdout: str
    stderr: str

    @property
    def result(self) -> Any:
        """The `result` of the JSON object the CLI prints on stdout."""
        return json.loads(self.stdout)["result"]

    @property
    def error(self) -> dict[str, Any]:
        """The `error` ({code, message}) of the JSON object the CLI prints on stderr."""
        # the envelope is the last line: Node may print warnings before it
        error: dict[str, Any] = json.loads(self.stderr.strip().splitlines()[-1])["error"]
        return error


@dataclass(frozen=True)
class Inspector:
    """The CLI installed in folder (its node_modules/.bin holds `mcp-inspector`)."""

    folder: Path

    def call(
        self,
        url: str,
        method: str,
        *,
        home: Path,
        headers: Mapping[str, str] | None = None,
        tool: str | None = None,
        args: Mapping[str, Any] | None = None,
    ) -> InspectorRun:
        """Run `method` against the streamable HTTP server at url, as a user would."""
        argv = ["npx", "--no-install", "mcp-inspector", "--cli", url, "--transport", "http"]
        argv += ["--method", method, "--format", "json", "-q", "--stored-auth-only"]
        for name, value in (headers or {}).items():
            argv += ["--header", f"{name}: {value}"]
        if tool is not None:
            argv += ["--tool-name", tool, "--tool-args-json", json.dumps(dict(args or {}))]
        proc = subprocess.run(
            argv,
            cwd=self.folder,
            env=_env(home),
            capture_output=True,
            text=True,
            timeout=_RUN_TIMEOUT,
            check=False,
        )
        return InspectorRun(proc.returncode, proc.stdout, proc.stderr)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spark-test"


def installed_inspector(root: Path | None = None) -> Inspector:
    """The pinned CLI, installed under root (default: cache_root()) unless it already is."""
    folder = (root or cache_root()) / f"mcp-inspector-{VERSION}"
    for tool in ("node", "npm", "npx"):
        if shutil.which(tool) is None:
            raise InspectorUnavailable(
                f"`{tool}` is not on PATH: the MCP Inspector CLI ({PACKAGE}) is installed with "
                "npm and runs on Node.js; install Node.js 20 or later with npm"
            )
    with _locked(folder.parent / f"{folder.name}.lock"):
        if not (folder / ".installed").exists() or not _bin(folder).exists():
            _install(folder)
    return Inspector(folder)


def _bin(folder: Path) -> Path:
    return folder / "node_modules" / ".bin" / "mcp-inspector"


def _install(folder: Path) -> None:
    """npm install into a fresh folder, marked installed only once npm succeeded."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    # a package.json of its own keeps npm from taking a parent folder as the project
    manifest = {"private": True, "dependencies": {PACKAGE: VERSION}}
    (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    argv = ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        proc = subprocess.run(
            argv,
            cwd=folder,
            env=_env(None),
            capture_output=True,
            text=True,
            timeout=_INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise InspectorUnavailable(
            f"`npm install {PACKAGE}@{VERSION}` in {folder} took over {_INSTALL_TIMEOUT:.0f}s"
        ) from exc
    if proc.returncode != 0 or not _bin(folder).exists():
        raise InspectorUnavailable(
            f"`npm install {PACKAGE}@{VERSION}` in {folder} failed (exit {proc.returncode}; "
            f"it needs npm's package registry), npm said:\n{proc.stderr[-4000:]}"
        )
    (folder / ".installed").touch()


def _env(home: Path | None) -> dict[str, str]:
    """This process's environment with npm's update notice off; HOME moved when given."""
    env = dict(os.environ)
    env.update({"NO_UPDATE_NOTIFIER": "1", "npm_config_update_notifier": "false"})
    if home is not None:
        home.mkdir(parents=True, exist_ok=True)
        env["HOME"] = str(home)
        env.pop("MCP_CATALOG_PATH", None)
        env.pop("MCP_CLIENT_CONFIG_PATH", None)
    return env


@contextmanager
def _locked(lock: Path) -> Iterator[None]:
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


if __name__ == "__main__":
    # `make test` and `make acceptance` install it here first, outside any test's timeout
    try:
        print(f"MCP Inspector CLI {VERSION} in {installed_inspector().folder}")
    except InspectorUnavailable as exc:
        raise SystemExit(f"MCP Inspector CLI: {exc}") from exc
