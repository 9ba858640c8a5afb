"""A small HTTP client for SPARK's API, used by the CLI."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx


class ApiError(Exception):
    """The API answered with an error body."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


TERMINAL = {"succeeded", "failed", "canceled", "timed_out"}


@dataclass(frozen=True)
class LogChunk:
    """Lines of a job's log, where to read on from, and whether the job has ended."""

    lines: list[str]
    next_offset: int
    complete: bool
    #: lines in the log now; fewer than the offset asked for means a new attempt began afresh
    total: int

    def read_on_from(self, offset: int) -> int:
        """Where to read next, this chunk having been read from offset."""
        return 0 if self.total < offset else self.next_offset

    @property
    def more(self) -> bool:
        """Whether the log already has lines past this chunk (a page ends at its limit)."""
        return self.next_offset < self.total


class SparkClient:
    """Talks to one SPARK API with one key."""

    def __init__(self, base_url: str, api_key: str | None, timeout: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ApiError(0, "unreachable", f"cannot reach {self._http.base_url}: {exc}") from exc
        if resp.status_code >= 400:
            raise _error_of(resp)
        return resp

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        return self._request(method, path, **kw).json()

    def log(self, job_id: str, offset_lines: int = 0, compact: bool = False) -> LogChunk:
        """GET /v1/jobs/{id}/log from a raw line offset."""
        params = {"offset_lines": offset_lines, "compact": "true" if compact else "false"}
        resp = self._request("GET", f"/v1/jobs/{job_id}/log", params=params)
        next_offset = int(resp.headers.get("x-next-offset", offset_lines))
        return LogChunk(
            lines=resp.text.splitlines(),
            next_offset=next_offset,
            complete=resp.headers.get("x-log-complete") == "true",
            total=int(resp.headers.get("x-total-lines", next_offset)),
        )

    def create_project(self, body: Mapping[str, Any]) -> Any:
        """POST /v1/projects."""
        return self._call("POST", "/v1/projects", json=dict(body))

    def project(self, project_id: str) -> Any:
        """GET /v1/projects/{id}."""
        return self._call("GET", f"/v1/projects/{project_id}")

    def projects(self, limit: int = 100, cursor: str | None = None) -> Any:
        """GET /v1/projects (one page)."""
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self._call("GET", "/v1/projects", params=params)

    def find_project(self, name_or_id: str) -> Any:
        """The caller's project with this id or name."""
        try:
            return self.project(str(uuid.UUID(name_or_id)))
        except ValueError:
            pass
        cursor: str | None = None
        while True:
            page = self.projects(cursor=cursor)
            for project in page["items"]:
                if project["name"] == name_or_id:
                    return project
            cursor = page.get("next_cursor")
            if not cursor:
                raise ApiError(404, "not_found", f"no project named {name_or_id!r}")

    def create_session(self, body: Mapping[str, Any]) -> Any:
        """POST /v1/sessions."""
        return self._call("POST", "/v1/sessions", json=dict(body))

    def session(self, session_id: str) -> Any:
        """GET /v1/sessions/{id}: the session, its messages, jobs and usage."""
        return self._call("GET", f"/v1/sessions/{session_id}")

    def sessions(self, **filters: Any) -> Any:
        """GET /v1/sessions (one page)."""
        params = {k: v for k, v in filters.items() if v is not None}
        return self._call("GET", "/v1/sessions", params=params)

    def say(self, session_id: str, text: str) -> Any:
        """POST /v1/sessions/{id}/messages: the session's next turn, an assist job (202)."""
        return self._call("POST", f"/v1/sessions/{session_id}/messages", json={"text": text})

    def end_session(self, session_id: str) -> Any:
        """POST /v1/sessions/{id}/end."""
        return self._call("POST", f"/v1/sessions/{session_id}/end")

    def put_secret(self, project_id: str, name: str, body: Mapping[str, Any]) -> Any:
        """PUT /v1/projects/{id}/secrets/{name}: its name and update time, never its value."""
        return self._call("PUT", f"/v1/projects/{project_id}/secrets/{name}", json=dict(body))

    def secrets(self, project_id: str) -> Any:
        """GET /v1/projects/{id}/secrets."""
        return self._call("GET", f"/v1/projects/{project_id}/secrets")

    def delete_secret(self, project_id: str, name: str) -> None:
        """DELETE /v1/projects/{id}/secrets/{name}."""
        self._request("DELETE", f"/v1/projects/{project_id}/secrets/{name}")

    def files(
        self, project_id: str, prefix: str = "", limit: int = 50, cursor: str | None = None
    ) -> Any:
        """GET /v1/projects/{id}/files (one page)."""
        params: dict[str, Any] = {"prefix": prefix, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self._call("GET", f"/v1/projects/{project_id}/files", params=params)

    def file(self, project_id: str, path: str, version: int | None = None) -> Any:
        """GET /v1/projects/{id}/files/{path}: the version with its content, as JSON."""
        params = {"version": version} if version is not None else {}
        return self._call("GET", _file_url(project_id, path), params=params)

    def file_bytes(self, project_id: str, path: str, version: int | None = None) -> bytes:
        """GET /v1/projects/{id}/files/{path}: the version's raw bytes."""
        params = {"version": version} if version is not None else {}
        headers = {"Accept": "application/octet-stream"}
        return self._request(
            "GET", _file_url(project_id, path), params=params, headers=headers
        ).content

    def file_history(
        self, project_id: str, path: str, limit: int = 20, cursor: str | None = None
    ) -> Any:
        """GET /v1/projects/{id}/files/{path}/history (one page, newest first)."""
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self._call("GET", f"{_file_url(project_id, path)}/history", params=params)

    def rollback_file(self, project_id: str, path: str, to_version: int) -> Any:
        """POST /v1/projects/{id}/files/{path}/rollback."""
        body = {"to_version": to_version}
        return self._call("POST", f"{_file_url(project_id, path)}/rollback", json=body)

    def delete_file(self, project_id: str, path: str, base_version: int | None = None) -> Any:
        """DELETE /v1/projects/{id}/files/{path}: the tombstone version."""
        params = {} if base_version is None else {"base_version": base_version}
        return self._call("DELETE", _file_url(project_id, path), params=params)

    def export_history(self, project_id: str, sink: BinaryIO) -> None:
        """GET /v1/projects/{id}/history/export, written to sink as it arrives."""
        try:
            with self._http.stream("GET", f"/v1/projects/{project_id}/history/export") as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise _error_of(resp)
                for chunk in resp.iter_bytes():
                    sink.write(chunk)
        except httpx.HTTPError as exc:
            raise ApiError(0, "unreachable", f"cannot reach {self._http.base_url}: {exc}") from exc

    def import_history(self, project_id: str, document: Mapping[str, Any]) -> Any:
        """POST /v1/projects/{id}/history/import."""
        return self._call("POST", f"/v1/projects/{project_id}/history/import", json=dict(document))

    def usage(self) -> Any:
        """GET /v1/usage: the caller's user, tier, limits and usage."""
        return self._call("GET", "/v1/usage")

    def admin_usage(self, month: str | None = None) -> Any:
        """GET /v1/admin/usage: every user's tokens and cost in month (YYYY-MM); spark:admin."""
        return self._call("GET", "/v1/admin/usage", params={"month": month} if month else {})

    def submit(self, body: Mapping[str, Any], idempotency_key: str | None = None) -> Any:
        """POST /v1/jobs."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._call("POST", "/v1/jobs", json=dict(body), headers=headers)

    def job(self, job_id: str) -> Any:
        """GET /v1/jobs/{id}."""
        return self._call("GET", f"/v1/jobs/{job_id}")

    def jobs(self, **filters: Any) -> Any:
        """GET /v1/jobs with filters."""
        params = {k: v for k, v in filters.items() if v is not None}
        return self._call("GET", "/v1/jobs", params=params)

    def audit(self, **filters: Any) -> Any:
        """GET /v1/audit with filters (user, action, since, limit, cursor); spark:admin."""
        params = {k: v for k, v in filters.items() if v is not None}
        return self._call("GET", "/v1/audit", params=params)

    def farm(self) -> Any:
        """GET /v1/farm: the live builders and the targets none declares."""
        return self._call("GET", "/v1/farm")

    def cancel(self, job_id: str) -> Any:
        """POST /v1/jobs/{id}/cancel."""
        return self._call("POST", f"/v1/jobs/{job_id}/cancel")

    def wait(
        self,
        job_id: str,
        on_update: Callable[[Any], None] | None = None,
        timeout: float = 600.0,
        interval: float = 0.1,
    ) -> Any:
        """Poll until the job ends (or timeout); returns the last job seen."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if on_update is not None:
                on_update(job)
            if job["state"] in TERMINAL or time.monotonic() > deadline:
                return job
            time.sleep(interval)
            interval = min(interval * 1.5, 1.0)


def _file_url(project_id: str, path: str) -> str:
    # Slashes stay as they are: the route takes the path with its slashes.
    return f"/v1/projects/{project_id}/files/{quote(path, safe='/')}"


def _error_of(resp: httpx.Response) -> ApiError:
    """The ApiError an error response carries."""
    try:
        err = resp.json()["error"]
    except (ValueError, KeyError, TypeError):
        return ApiError(resp.status_code, "http_error", resp.text[:200])
    return ApiError(resp.status_code, err["code"], err["message"], err.get("details"))
