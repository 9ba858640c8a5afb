"""render_preview params are checked at the API: a bad one is a 422 naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from spark.db.executor import Database
from tests.acceptance.test_http_errors import assert_error, job_count
from tests.support.jobs import auth

GOOD = {"width": 640, "height": 360}

BAD_PARAMS = [
    ({**GOOD, "width": 0}, "params.width"),
    ({**GOOD, "width": 4097}, "params.width"),
    ({**GOOD, "height": 0}, "params.height"),
    ({**GOOD, "height": 4097}, "params.height"),
    ({"height": 360}, "params.width"),
    ({**GOOD, "format": "gif"}, "params.format"),
    ({**GOOD, "scene": "Scenes/Main.unity"}, "params.scene"),
    ({**GOOD, "scene": "/Assets/Main.unity"}, "params.scene"),
    ({**GOOD, "scene": "Assets/../../etc/passwd.unity"}, "params.scene"),
    ({**GOOD, "scene": "Assets/Scenes/Main.cs"}, "params.scene"),
    ({**GOOD, "scene": "Assets/Sc\u0000enes/Main.unity"}, "params.scene"),
    ({**GOOD, "camera": "c" * 257}, "params.camera"),
]


@pytest.mark.parametrize(("params", "field"), BAD_PARAMS)
def test_each_bad_render_preview_field_is_a_422_naming_it(
    client: TestClient, api_key: str, db: Database, params: dict[str, Any], field: str
) -> None:
    """No job is created for a bad field."""
    resp = client.post(
        "/v1/jobs", json={"kind": "render_preview", "params": params}, headers=auth(api_key)
    )
    error = assert_error(resp, 422, "validation_error")
    assert error["details"]["field"] == field
    assert job_count(db) == 0


@pytest.mark.parametrize(
    "params",
    [
        {"width": 1, "height": 1},
        {"width": 4096, "height": 4096, "format": "jpg"},
        {**GOOD, "scene": "Assets/Scenes/Level 1.unity", "camera": "Main Camera"},
    ],
)
def test_the_edges_of_the_valid_range_are_accepted(
    client: TestClient, api_key: str, params: dict[str, Any]
) -> None:
    resp = client.post(
        "/v1/jobs", json={"kind": "render_preview", "params": params}, headers=auth(api_key)
    )
    assert resp.status_code == 202, resp.text
