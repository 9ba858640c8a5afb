"""GET /v1/jobs answers a large page gzipped to a client that accepts it, and plain otherwise."""

from __future__ import annotations

import gzip
import json
import uuid

from starlette.testclient import TestClient

from tests.support.jobs import auth

JOB = {"kind": "generate_script", "params": {"prompt": "a door that opens", "class_name": "Door"}}


def test_a_page_of_jobs_is_gzipped_when_accepted(client: TestClient, api_key: str) -> None:
    for _ in range(5):
        assert client.post("/v1/jobs", json=JOB, headers=auth(api_key)).status_code == 202
    wanted = {**auth(api_key), "Accept-Encoding": "gzip"}
    with client.stream("GET", "/v1/jobs", params={"limit": 5}, headers=wanted) as resp:
        raw = b"".join(resp.iter_raw())
    assert resp.status_code == 200
    assert resp.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in resp.headers["vary"].lower()
    body = json.loads(gzip.decompress(raw))
    assert len(body["items"]) == 5
    assert len(raw) < len(json.dumps(body)) / 2

    plain = {**auth(api_key), "Accept-Encoding": "identity"}
    resp = client.get("/v1/jobs", params={"limit": 5}, headers=plain)
    assert "content-encoding" not in resp.headers
    assert resp.json() == body

    refused = {**auth(api_key), "Accept-Encoding": "gzip;q=0"}
    resp = client.get("/v1/jobs", params={"limit": 5}, headers=refused)
    assert "content-encoding" not in resp.headers


def test_a_small_page_is_not_compressed(client: TestClient, api_key: str) -> None:
    wanted = {**auth(api_key), "Accept-Encoding": "gzip"}
    resp = client.get("/v1/jobs", params={"session_id": uuid.uuid4().hex}, headers=wanted)
    assert resp.status_code == 200
    assert resp.json()["items"] == []
    assert "content-encoding" not in resp.headers
