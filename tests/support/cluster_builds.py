"""Builds on the multi-host tier, driven from the client host through an API host."""

from __future__ import annotations

import fcntl
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.builds import read_records
from tests.support.cluster_net import Host
from tests.support.jobs import auth

TERMINAL_EVENTS = {"completed", "failed", "canceled", "timeout"}


def create_project(api_url: str, key: str, name: str, **source: str) -> dict[str, Any]:
    """A project with the given source (git_url or source_dir), made through the API."""
    resp = httpx.post(
        f"{api_url}/v1/projects", json={"name": name, **source}, headers=auth(key), timeout=30
    )
    assert resp.status_code == 201, resp.text
    project: dict[str, Any] = resp.json()
    return project


def submit_build(api_url: str, key: str, project_id: str, target: str = "StandaloneLinux64") -> str:
    """A unity_build of the project, submitted through the API; its job id."""
    body = {"kind": "unity_build", "project_id": project_id, "params": {"target": target}}
    resp = httpx.post(f"{api_url}/v1/jobs", json=body, headers=auth(key), timeout=30)
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


def unity_runs(host: Host, job_id: str, event: str = "start") -> int:
    """How many times the Unity stand-in on host recorded event for the job."""
    records = read_records(host.folder / "unity.jsonl")
    return sum(1 for r in records if r["event"] == event and r.get("job") == job_id)


def wait_for(condition: Any, what: str, timeout: float = 60.0) -> None:
    """Wait until condition() holds; fail naming what did not happen."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:g}s: {what}"
        time.sleep(0.1)


def terminal_events(api_url: str, key: str, job_id: str) -> list[dict[str, Any]]:
    """The job's stored terminal events, as the API lists them, once there is one."""
    found: list[dict[str, Any]] = []

    def listed() -> bool:
        nonlocal found
        resp = httpx.get(f"{api_url}/v1/jobs/{job_id}/events", headers=auth(key), timeout=10)
        assert resp.status_code == 200, resp.text
        found = [e for e in resp.json()["items"] if e["type"] in TERMINAL_EVENTS]
        return bool(found)

    wait_for(listed, f"a terminal event of {job_id}", timeout=30)
    return found


def unlocked(lock: Path) -> bool:
    """Whether nothing holds the flock on lock (taken and let go at once when free)."""
    with lock.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f, fcntl.LOCK_UN)
        return True
