"""`spark up`: the whole stack for one machine, embedded servers included, until Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from spark import logs
from spark.cli.output import console, err_console
from spark.cli.serve import migrate_database
from spark.config import Settings, load_settings
from spark.db.executor import Database
from spark.domain.jobs import Queue
from spark.domain.principals import Permission, Tier
from spark.embedded.servers import EmbeddedUnavailable, die_with_parent
from spark.embedded.stack import SET_INSTEAD, TITLES, EmbeddedStack, StackOptions, missing_servers
from spark.security.apikeys import create_key
from spark.security.sealing import new_key

log = logging.getLogger(__name__)

EXAMPLE_PROMPT = "a player controller that runs and jumps"
SERVER_URLS = ("database_url", "broker_url", "redis_url", "nats_url")


def single_user_defaults(settings: Settings) -> dict[str, str]:
    """What `spark up` sets for its processes where the environment does not: it runs SPARK
    for one user on their own machine, whose editor (unity-mcp on localhost:8080) and
    webhook receivers are local, so private destinations are allowed unless set to false."""
    defaults: dict[str, str] = {}
    if "allow_private_destinations" not in settings.model_fields_set:
        defaults["SPARK_ALLOW_PRIVATE_DESTINATIONS"] = "true"
    return defaults


def home_source_roots(settings: Settings) -> dict[str, str]:
    """SPARK_SOURCE_ROOTS for `spark up`'s processes unless it is given: the user's home, so
    their projects may lie there (unset, no project may read a directory)."""
    if "source_roots" in settings.model_fields_set:
        return {}
    return {"SPARK_SOURCE_ROOTS": json.dumps([str(Path.home())])}


#: where `spark up` keeps the key it made for SPARK_SECRETS_KEY, under its var dir
SECRETS_KEY_FILE = "secrets.key"


def local_secrets_key(settings: Settings) -> dict[str, str]:
    """SPARK_SECRETS_KEY for `spark up`'s processes unless it is given: a key made on the
    first run and kept, readable by the user alone, under var_dir, so project secrets stored
    today still open after a restart."""
    if settings.secrets_key is not None:
        return {}
    path = settings.var_dir / SECRETS_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two `spark up` starting at once must not each write a different key.
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(new_key() + "\n")
    return {"SPARK_SECRETS_KEY": path.read_text(encoding="utf-8").strip()}


class StartFailed(RuntimeError):
    """`spark up` could not bring its processes up."""


def _spawn(args: list[str], **env: str) -> subprocess.Popen[bytes]:
    # Each service in a process group of its own: Ctrl-C or a TERM to `spark up`'s group then
    # reaches only `spark up`, which stops each service through its main process. A signal
    # straight to a worker's pool children kills one holding the pool's queue lock, and the
    # worker's exit then waits on that lock until it is killed. A `spark up` killed outright
    # cannot do that: the kernel then TERMs each service itself.
    return subprocess.Popen(
        [sys.executable, "-m", "spark.cli", *args],
        env={**os.environ, **env},
        process_group=0,
        preexec_fn=die_with_parent(signal.SIGTERM),
    )


def _wait_ready(
    url: str, settings: Settings, procs: list[subprocess.Popen[bytes]], timeout: float = 90.0
) -> None:
    """Return once the API is healthy and the workers among procs answer: the example
    `spark up` then prints runs at once instead of waiting for a worker still starting."""
    from celery.utils.nodenames import host_format

    from spark.broker.app import create_celery

    # each worker's Celery name, as `spark worker` gives it (-n spark<pid>@%h)
    workers = {host_format(f"spark{p.pid}@%h") for p in procs if p.args[3] == "worker"}  # type: ignore[index]
    control = create_celery(settings).control
    deadline = time.monotonic() + timeout
    # one client: a new one per poll costs more CPU than the processes starting can spare
    with httpx.Client(timeout=1.0) as http:
        while not _healthy(http, url):
            _check_starting(procs, deadline)
            time.sleep(0.1)
    while True:
        _check_starting(procs, deadline)
        # returns as soon as every named worker has answered
        answered = control.ping(destination=sorted(workers), timeout=0.25)
        if workers <= {name for answer in answered for name in answer}:
            return


def _healthy(http: httpx.Client, url: str) -> bool:
    try:
        return http.get(f"{url}/v1/health").status_code == 200
    except httpx.HTTPError:
        return False


def _check_starting(procs: list[subprocess.Popen[bytes]], deadline: float) -> None:
    if any(p.poll() is not None for p in procs):
        raise StartFailed("a SPARK process exited during start-up")
    if time.monotonic() > deadline:
        raise StartFailed("SPARK's API and workers did not answer in time")


def _start_servers(stack: EmbeddedStack, settings: Settings) -> Settings:
    """Start the embedded servers for the URLs settings leaves unset; settings with their
    URLs, which every process `spark up` runs is given."""
    filled = stack.start().unset_in(settings)
    _print_servers(stack, filled)
    return settings.model_copy(update=filled)


def _print_servers(stack: EmbeddedStack, filled: dict[str, str]) -> None:
    started = ", ".join(title for name, title in TITLES.items() if name in stack.servers)
    where = f", data under {stack.root}" if started else " (every server URL is set)"
    console.print(f"Embedded servers: {started or 'none'}{where}", highlight=False, soft_wrap=True)
    for name, url in filled.items():
        # embedded servers' URLs carry no password; configured ones are not printed
        console.print(f"  SPARK_{name.upper()}={url}", highlight=False, markup=False)


def _print_example(url: str, token: str) -> None:
    params = {"prompt": EXAMPLE_PROMPT, "class_name": "PlayerController"}
    body = json.dumps({"kind": "generate_script", "params": params})
    spark_bin = Path(sys.executable).parent / "spark"
    env = f"SPARK_API_KEY={token}" + (
        "" if url == "http://127.0.0.1:8000" else f" SPARK_API_URL={url}"
    )
    console.print(f"\n[bold green]SPARK is up[/bold green] at {url}  (docs: {url}/docs)")
    console.print(f"Console: {url}/console  (sign in with the key below)", highlight=False)
    console.print(f"API key: [bold]{token}[/bold]\n")
    console.print("Submit a job with curl:", highlight=False)
    console.print(
        f"curl -s -X POST {url}/v1/jobs -H 'Authorization: Bearer {token}' "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    console.print("\nor with the CLI, following its progress:", highlight=False)
    prompt = shlex.quote("prompt=" + EXAMPLE_PROMPT)
    console.print(
        f"{env} {spark_bin} submit generate_script --param {prompt}"
        " --param class_name=PlayerController --wait",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    console.print(
        "\nor from an AI agent (MCP; README: Use SPARK from an AI agent):", highlight=False
    )
    console.print(
        f"claude mcp add --transport http spark {url}/mcp --header 'Authorization: Bearer {token}'",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _watch(procs: list[subprocess.Popen[bytes]], stack: EmbeddedStack) -> None:
    """Return once a SPARK process or an embedded server has exited, saying which."""
    servers = list(stack.servers.values())
    while all(p.poll() is None for p in procs) and all(s.running for s in servers):
        time.sleep(0.5)
    # Say which one ended: otherwise the others just stop with no reason given.
    for p in procs:
        if p.returncode is not None:
            # args are [python, -m, spark.cli, command, …]
            command = str(p.args[3])  # type: ignore[index]
            log.error("spark %s exited (%d); stopping", command, p.returncode)
    for server in servers:
        if not server.running:
            log.error("the embedded %s server exited; stopping", server.spec.name)


def _interrupt(*_: object) -> None:
    # SIGTERM takes Ctrl-C's path: one way to stop, whatever `spark up` was doing.
    raise KeyboardInterrupt


def _stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def up(
    host: Annotated[str, typer.Option(help="API bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port.")] = 8000,
    concurrency: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    new_key: Annotated[bool, typer.Option(help="Create and print a fresh API key.")] = True,
) -> None:
    """Start embedded servers for unset URLs, migrate, then run the API, job and build
    workers, the scheduler and the event consumer (Ctrl-C stops all)."""
    # Only the environment: URLs remembered under var_dir are the servers this starts.
    settings = load_settings(embedded=False)
    logs.configure_process(settings)
    stack = EmbeddedStack(settings.var_dir, StackOptions(servers=missing_servers(settings)))
    procs: list[subprocess.Popen[bytes]] = []
    signal.signal(signal.SIGTERM, _interrupt)
    failed = False
    try:
        settings = _start_servers(stack, settings)
        migrate_database(settings)
        token = _local_key(settings) if new_key else None
        services = _services(settings, host, port, concurrency)
        # each added as it starts, so Ctrl-C meanwhile stops those already running
        procs.extend(_spawn(args, **env) for args, env in services[:2])
        _wait_ready(f"http://{host}:{port}", settings, procs)
        # The others once those answer: each Python process spends seconds of CPU starting,
        # which on a small machine only delays the two the example needs.
        procs.extend(_spawn(args, **env) for args, env in services[2:])
        if token is not None:
            _print_example(f"http://{host}:{port}", token)
        _watch(procs, stack)
        failed = True
    except KeyboardInterrupt:
        pass
    except EmbeddedUnavailable as exc:
        hint = "" if SET_INSTEAD in str(exc) else f"; or {SET_INSTEAD}"
        err_console.print(f"error: {exc}{hint}", highlight=False, markup=False, soft_wrap=True)
        failed = True
    except StartFailed as exc:
        log.error("%s", exc)
        failed = True
    finally:
        # Ctrl-C pressed again must not cut the stopping short: servers would be left.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _stop_all(procs)
        stack.stop()
    if failed:
        raise typer.Exit(1)


def _local_key(settings: Settings) -> str:
    perms = [Permission.READ, Permission.GENERATE, Permission.BUILD]
    return create_key(Database(settings.require("database_url")), "local", Tier.PRO, perms).token


def _services(
    settings: Settings, host: str, port: int, workers: int
) -> list[tuple[list[str], dict[str, str]]]:
    """What `spark up` runs, with the environment each needs besides its own: the API and
    the job worker, which the printed example needs, first."""
    servers = {f"SPARK_{name.upper()}": str(getattr(settings, name)) for name in SERVER_URLS}
    local = (
        single_user_defaults(settings)
        | home_source_roots(settings)
        | local_secrets_key(settings)
        | servers
    )
    # the build worker's own metrics port (the job worker has the configured one; 0 stays off)
    metrics = settings.worker_metrics_port + 1 if settings.worker_metrics_port else 0
    return [
        (["api", "--host", host, "--port", str(port)], local),
        (["worker", "--concurrency", str(workers)], local),
        # One build at a time; without SPARK_UNITY_PATH its builds fail at once, saying so.
        (
            ["worker", "--queues", Queue.BUILDS.value, "--concurrency", "1"],
            local | {"SPARK_WORKER_METRICS_PORT": str(metrics)},
        ),
        (["beat"], local),
        # events reach spark_events through the consumer
        (["consumer"], local),
    ]


def register(app: typer.Typer) -> None:
    """Add `spark up` to app."""
    app.command("up")(up)
