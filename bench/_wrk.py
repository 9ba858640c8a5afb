"""HTTP load from `wrk` (compiled, one thread, so the load generator is never the bound).

`wrk` comes from the Debian package: `apt-get install -y wrk`. When it is missing and the
benchmark runs as root on a machine with apt-get, ensure_wrk() installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: what the Lua script's done() prints before its JSON summary
_MARK = "WRK_SUMMARY "

# One script for every phase: the paths cycle, every request carries the same headers and
# body; done() prints the summary as JSON so nothing has to parse wrk's human output. With an
# expected text, response() counts the bodies that lack it (an MCP tool error is a 200 too);
# its count lives in the thread's Lua state, so done() collects it from the threads.
_SCRIPT = """
local paths = {%(paths)s}
local method = %(method)s
local body = %(body)s
local headers = {%(headers)s}
local expect = %(expect)s
local threads = {}
local i = 0
unexpected = 0
setup = function(thread)
  table.insert(threads, thread)
end
request = function()
  i = i %% #paths + 1
  return wrk.format(method, paths[i], headers, body)
end
%(response)s
done = function(summary, latency, requests)
  local e = summary.errors
  local missing = 0
  for _, thread in ipairs(threads) do
    missing = missing + (thread:get("unexpected") or 0)
  end
  io.write(string.format(
    '%(mark)s{"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"p50_us":%%d,"p99_us":%%d,"max_us":%%d,"unexpected":%%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, missing))
end
"""
# Defined only when a body is checked: wrk reads and hands over bodies only to a response().
_RESPONSE = """
response = function(status, headers, body)
  if not string.find(body or "", expect, 1, true) then
    unexpected = unexpected + 1
  end
end
"""


@dataclass(frozen=True)
class WrkResult:
    """What wrk saw in one run."""

    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    #: connect, read, write and timeout errors: sockets that failed
    socket_errors: int
    #: responses outside 2xx/3xx
    bad_status: int
    #: responses whose body lacks the expected text (0 when none was given)
    unexpected: int = 0

    @property
    def per_s(self) -> float:
        """Responses per second."""
        return self.requests / self.duration_s

    @property
    def ok(self) -> int:
        """Responses with a 2xx or 3xx status."""
        return self.requests - self.bad_status


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package first when it is missing and we may."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "wrk"],
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        found = shutil.which("wrk")
    if not found:
        raise RuntimeError("the benchmark needs wrk: install it with `apt-get install -y wrk`")
    return found


def _lua(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def script(
    method: str,
    paths: list[str],
    headers: dict[str, str],
    body: str | None,
    expect: str | None = None,
) -> str:
    """The Lua script for one phase; with expect, bodies lacking it are counted."""
    return _SCRIPT % {
        "paths": ", ".join(_lua(p) for p in paths),
        "method": _lua(method),
        "body": "nil" if body is None else _lua(body),
        "headers": ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in headers.items()),
        "expect": "nil" if expect is None else _lua(expect),
        "response": "" if expect is None else _RESPONSE,
        "mark": _MARK,
    }


def run_wrk(
    base_url: str, lua: str, *, seconds: float, connections: int, timeout_s: float = 10.0
) -> WrkResult:
    """wrk against base_url with the script lua for seconds, one thread, connections."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    try:
        args = [ensure_wrk(), "-t1", f"-c{connections}", f"-d{seconds:g}s"]
        args += [f"--timeout={timeout_s:g}s", "-s", f.name, base_url]
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    finally:
        Path(f.name).unlink()
    line = next((ln for ln in out.splitlines() if ln.startswith(_MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    s = json.loads(line[len(_MARK) :])
    return WrkResult(
        requests=s["requests"],
        duration_s=s["duration_us"] / 1e6,
        p50_ms=s["p50_us"] / 1000,
        p99_ms=s["p99_us"] / 1000,
        max_ms=s["max_us"] / 1000,
        socket_errors=s["connect"] + s["read"] + s["write"] + s["timeout"],
        bad_status=s["status"],
        unexpected=s["unexpected"],
    )
