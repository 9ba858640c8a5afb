"""Jobs that are steps of another job: parent_id in the job object and the listing filter."""

from __future__ import annotations

import uuid

import pytest
from starlette.testclient import TestClient

from spark.db.executor import Database
from spark.domain.jobs import JobKind
from spark.errors import NotFound
from spark.jobs.submit import NewJob, store
from tests.support.jobs import auth

PARAMS = {"prompt": "a door that opens when the player is near", "class_name": "Door"}


def submit(client: TestClient, key: str) -> str:
    body = {"kind": "generate_script", "params": PARAMS}
    resp = client.post("/v1/jobs", json=body, headers=auth(key))
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


def step_of(db: Database, owner: str, parent: str) -> str:
    """A child job stored the way SPARK's own jobs submit their steps."""
    new = NewJob(
        owner=owner,
        kind=JobKind.GENERATE_SCRIPT,
        params={**PARAMS, "base_class": "MonoBehaviour"},
        parent_id=uuid.UUID(parent),
    )
    return str(store(db, new).job.id)


def listed(client: TestClient, key: str, query: str) -> list[str]:
    resp = client.get(f"/v1/jobs?{query}", headers=auth(key))
    assert resp.status_code == 200, resp.text
    return [job["id"] for job in resp.json()["items"]]


def test_a_job_submitted_through_the_api_has_no_parent(client: TestClient, api_key: str) -> None:
    """The job object names parent_id, null for a job submitted on its own."""
    job_id = submit(client, api_key)
    assert client.get(f"/v1/jobs/{job_id}", headers=auth(api_key)).json()["parent_id"] is None


def test_a_step_names_its_parent_and_is_listed_under_it_for_its_owner_only(
    client: TestClient, db: Database, api_key: str, other_key: str
) -> None:
    """A child job shows its parent_id; ?parent_id= lists the parent's steps for its owner
    alone: another user asking with the same id sees nothing."""
    parent = submit(client, api_key)
    child = step_of(db, "alice", parent)
    submit(client, api_key)
    job = client.get(f"/v1/jobs/{child}", headers=auth(api_key)).json()
    assert job["parent_id"] == parent
    assert listed(client, api_key, f"parent_id={parent}") == [child]
    assert listed(client, other_key, f"parent_id={parent}") == []


def test_a_step_under_someone_elses_job_is_refused(
    client: TestClient, db: Database, api_key: str, other_key: str
) -> None:
    """A child job may only hang under its owner's job: another user's is unknown."""
    theirs = submit(client, other_key)
    with pytest.raises(NotFound) as refused:
        step_of(db, "alice", theirs)
    assert refused.value.details == {"field": "parent_id"}


def test_a_parent_id_that_is_not_a_uuid_is_refused_naming_it(
    client: TestClient, api_key: str
) -> None:
    """parent_id is validated like the other filters: a 422 naming the parameter."""
    resp = client.get("/v1/jobs?parent_id=not-a-uuid", headers=auth(api_key))
    assert resp.status_code == 422, resp.text
    assert "parent_id" in resp.text
