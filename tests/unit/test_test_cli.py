"""`spark test`: what it submits, and the table of failures it prints with file:line."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from spark.cli import app, unity_tests

FAILED_RUN = {
    "id": "6f1c0e8e-0000-4000-8000-000000000001",
    "kind": "run_tests",
    "state": "failed",
    "error": {"code": "tests_failed", "message": "1 of 3 tests failed"},
    "result": {
        "result": "failed",
        **{"total": 3, "passed": 1, "failed": 1, "skipped": 1, "inconclusive": 0},
        "failures": [
            {
                "fullname": "Shop.Cart.Discount",
                "message": "Expected: 90 But was: 100",
                "file": "Assets/Tests/X.cs",
                "line": 31,
                "stack": "at Shop.Cart.Discount () in Assets/Tests/X.cs:31",
            }
        ],
    },
}


class FakeClient:
    """Answers as the API would for one project and one finished run."""

    def __init__(self) -> None:
        self.submitted: list[Any] = []

    def find_project(self, name: str) -> dict[str, str]:
        return {"id": "p-1", "name": name}

    def submit(self, body: Any) -> dict[str, Any]:
        self.submitted.append(body)
        return FAILED_RUN


def test_spark_test_submits_run_tests_and_prints_each_failure_at_file_and_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = FakeClient()
    monkeypatch.setattr(unity_tests, "client_from_settings", lambda: client)
    args = ["test", "Shop", "--platform", "EditMode", "--filter", "Shop.Cart.Discount"]
    out = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    (body,) = client.submitted
    assert body["kind"] == "run_tests" and body["project_id"] == "p-1"
    assert body["params"] == {
        "platform": "EditMode",
        "categories": [],
        "filter": "Shop.Cart.Discount",
    }
    assert "Assets/Tests/X.cs:31" in out.output
    assert "Shop.Cart.Discount" in out.output and "tests_failed" in out.output
