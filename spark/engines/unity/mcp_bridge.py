"""The EditorBridge on unity-mcp: its tools called through the `mcp` SDK's streamable-HTTP
client, one session per server URL, each call naming the Unity instance it is for, with a
timeout longer than the server's own waits for that tool; a circuit breaker per server shared
by every process (through Redis); and a lease per instance, so two jobs never interleave
their calls in one editor.

A job first reads the connected instances: none within CONNECT_WAIT_S is `editor_unavailable`
at once. An instance that goes away in the middle of a job (a domain reload drops it and it
registers again) is waited for, up to SPARK_UNITY_MCP_WAIT_S, and the call is made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlparse

from mcp.client.session import ClientSession

from spark.config import Settings
from spark.engines.unity.bridge import (
    Editor,
    EditorInstance,
    EditorRefused,
    EditorSession,
    EditorUnavailable,
)
from spark.engines.unity.mcp_calls import Answer, call_timeout, call_tool, choose, read_instances
from spark.engines.unity.mcp_editor import McpEditorSession
from spark.engines.unity.mcp_session import Loop, Sessions, round_trip
from spark.kv.base import BreakerStore
from spark.kv.leases import LeaseBusy, Leases
from spark.resilience.breaker import BreakerOpen, BreakerPolicy, CircuitBreaker, breaker_policy

log = logging.getLogger(__name__)

T = TypeVar("T")

#: the one loop thread every bridge in this process shares
LOOP = Loop()
#: how long a job waits for a first instance: a reload under way when it starts ends well
#: within this; an editor that is closed fails the job in seconds, not minutes
CONNECT_WAIT_S = 5.0
#: when to ask again after no instance came within CONNECT_WAIT_S: a user opens an editor in
#: minutes, not seconds, so a job with a short wait fails now rather than after its limit
ABSENT_RETRY_S = 30
#: how long a job waits while another job holds the instance (a push with its compile); well
#: within every kind's time limit, so a busy editor is reported as such, not as a timeout
LEASE_WAIT_S = 90.0
#: how often the instance list is read while waiting for an instance
POLL_S = 0.25


def breaker_name(url: str) -> str:
    """The breaker guarding one editor server: `unity_mcp:<host:port>`."""
    return f"unity_mcp:{urlparse(url).netloc}"


def _headers(editor: Editor) -> dict[str, str]:
    return {"X-API-Key": editor.api_key} if editor.api_key else {}


class McpBridge:
    """EditorBridge on unity-mcp. Constructing it contacts nothing; sessions open on use."""

    def __init__(
        self,
        store: BreakerStore,
        policy: BreakerPolicy,
        *,
        leases: Leases,
        timeout_s: float = 30.0,
        wait_s: float = 60.0,
        connect_wait_s: float = CONNECT_WAIT_S,
    ) -> None:
        self._store, self._policy = store, policy
        self._leases = leases
        self._timeout, self._wait, self._connect_wait = timeout_s, wait_s, connect_wait_s
        self._pid, self._sessions = -1, Sessions(timeout_s)
        #: each instance's game view size, learned from its captures
        self.game_views: dict[tuple[str, str], tuple[int, int]] = {}

    # -- the port -------------------------------------------------------------------------

    def instances(self, editor: Editor) -> list[EditorInstance]:
        """The Unity instances connected to the editor's server now."""
        return list_instances(editor, self._timeout)

    @contextlib.contextmanager
    def attach(self, editor: Editor) -> Iterator[EditorSession]:
        """The editor's instance, held (leased) for the calls made inside the block."""
        instance = self._guarded(editor, lambda: self._resolve(editor))
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(self._leases.hold(_lease(editor, instance), LEASE_WAIT_S))
            except LeaseBusy:
                raise EditorUnavailable(
                    f"the Unity editor {instance.id} at {editor.url} stayed busy with other "
                    f"jobs for {LEASE_WAIT_S:g}s"
                ) from None
            yield McpEditorSession(
                lambda tool, args: self.call(editor, instance, tool, **args),
                editor,
                instance,
                self.game_views,
            )

    # -- calling, for McpEditorSession ----------------------------------------------------

    def call(self, editor: Editor, instance: EditorInstance, tool: str, **args: Any) -> Answer:
        """Call tool on instance through the server's breaker; while the instance is away
        (reloading), wait for it to come back and call again."""
        return self._guarded(editor, lambda: self._until_answered(editor, instance, tool, args))

    def _until_answered(
        self, editor: Editor, instance: EditorInstance, tool: str, args: dict[str, Any]
    ) -> Answer:
        deadline = time.monotonic() + self._wait
        named = {**args, "unity_instance": instance.id}
        timeout = call_timeout(tool, self._timeout)
        while True:
            answer = self._run(editor, tool, lambda s: call_tool(s, tool, named, timeout), timeout)
            if not answer.instance_away:
                return answer
            log.info("unity-mcp %s: %s; waiting for %s", tool, answer.error, instance.id)
            time.sleep(answer.retry_after_s)
            self._wait_for(editor, instance, deadline, answer.error)

    def _wait_for(
        self, editor: Editor, instance: EditorInstance, deadline: float, why: str
    ) -> None:
        """Return once instance is connected again; EditorUnavailable at deadline."""
        back, _ = self._listing(editor, deadline, lambda found: instance.hash in _hashes(found))
        if not back:
            raise EditorUnavailable(
                f"the Unity editor {instance.id} at {editor.url} went away and was not "
                f"back within {self._wait:g}s ({why})"
            )

    def _resolve(self, editor: Editor) -> EditorInstance:
        """The instance a job's calls go to, waiting up to connect_wait_s for one."""
        deadline = time.monotonic() + self._connect_wait
        _, connected = self._listing(
            editor, deadline, lambda found: choose(editor.instance, found) is not None
        )
        chosen = choose(editor.instance, connected)
        if isinstance(chosen, EditorInstance):
            return chosen
        if isinstance(chosen, str):
            ids = [i.id for i in connected]
            raise EditorRefused(
                editor.url, "unity_instance", "ambiguous", chosen, {"instances": ids}
            )
        raise EditorUnavailable(_missing(editor, connected), retry_after=ABSENT_RETRY_S)

    def _listing(
        self,
        editor: Editor,
        deadline: float,
        done: Callable[[list[EditorInstance]], bool],
    ) -> tuple[bool, list[EditorInstance]]:
        """Read the connected instances until done(them) holds or deadline passes: whether it
        held, and the last list read."""
        while True:
            connected = list_instances(editor, self._timeout)
            if done(connected):
                return True, connected
            if time.monotonic() + POLL_S > deadline:
                return False, connected
            time.sleep(POLL_S)

    def _guarded(self, editor: Editor, fn: Callable[[], T]) -> T:
        breaker = CircuitBreaker(breaker_name(editor.url), self._store, self._policy)
        try:
            return breaker.call(fn, lambda exc: isinstance(exc, EditorUnavailable))
        except BreakerOpen as exc:
            wait = int(exc.headers.get("Retry-After", "5"))
            message = f"the Unity editor at {editor.url} is failing; retry in {wait}s"
            raise EditorUnavailable(message, retry_after=wait) from None

    def _run(
        self,
        editor: Editor,
        what: str,
        then: Callable[[ClientSession], Awaitable[T]],
        timeout: float,
    ) -> T:
        """One request on the server's long-lived session; any failure to get an answer is
        EditorUnavailable, and drops the session so the next call opens a new one."""
        sessions = self._process_sessions()

        async def attempt() -> T:
            try:
                session = await sessions.get(editor.url, _headers(editor))
                return await then(session)
            except BaseException:
                await sessions.discard(editor.url)
                raise

        return _on_loop(editor, what, attempt, timeout)

    def _process_sessions(self) -> Sessions:
        # A forked child gets a new loop; sessions (and their asyncio locks) go with it.
        if self._pid != os.getpid():
            self._pid, self._sessions = os.getpid(), Sessions(self._timeout)
        return self._sessions


def list_instances(editor: Editor, timeout_s: float) -> list[EditorInstance]:
    """The Unity instances connected to the editor's server, read on a session of its own
    (see mcp_calls), outside any breaker; EditorUnavailable when the server does not answer."""

    async def listed() -> list[EditorInstance]:
        return await round_trip(Sessions(timeout_s), editor.url, _headers(editor), read_instances)

    return _on_loop(editor, "the instance list", listed, timeout_s)


def _on_loop(editor: Editor, what: str, make: Callable[[], Awaitable[T]], timeout: float) -> T:
    """make() run on the bridge's loop within timeout; no answer is EditorUnavailable."""
    try:
        return LOOP.run(_within(make(), timeout), timeout + 5.0)
    except (EditorRefused, EditorUnavailable):
        raise
    except Exception as exc:
        message = f"the Unity editor at {editor.url} did not answer {what}: {_why(exc)}"
        raise EditorUnavailable(message) from None


def _lease(editor: Editor, instance: EditorInstance) -> str:
    return f"unity:{urlparse(editor.url).netloc}:{instance.hash}"


def _hashes(instances: list[EditorInstance]) -> set[str]:
    return {i.hash for i in instances}


def _missing(editor: Editor, connected: list[EditorInstance]) -> str:
    if editor.instance is None or not connected:
        return f"no Unity editor is connected to the unity-mcp server at {editor.url}"
    ids = ", ".join(sorted(i.id for i in connected))
    return (
        f"the Unity instance {editor.instance!r} is not connected to the unity-mcp server at "
        f"{editor.url} (connected: {ids})"
    )


async def _within(coro: Awaitable[T], timeout: float) -> T:
    return await asyncio.wait_for(coro, timeout)


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _why(exc.exceptions[0])
    return str(exc) or type(exc).__name__


def make_editor_bridge(settings: Settings, store: BreakerStore, leases: Leases) -> McpBridge:
    """The bridge for these settings (contacts no editor)."""
    return McpBridge(
        store,
        breaker_policy(settings),
        leases=leases,
        timeout_s=settings.unity_mcp_timeout_s,
        wait_s=settings.unity_mcp_wait_s,
    )


def default_editor(settings: Settings) -> Editor | None:
    """The editor SPARK_UNITY_MCP_URL names, with its key, or None."""
    if not settings.unity_mcp_url:
        return None
    key = settings.unity_mcp_api_key
    return Editor(settings.unity_mcp_url, key.get_secret_value() if key else None)
