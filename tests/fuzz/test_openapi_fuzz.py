"""The fuzz tier: schemathesis drives every operation of /openapi.json against a real server,
with a valid key and without one, with data the document allows and data it forbids. It
fails on any 5xx, on any status the document does not list for the operation, on a body
that breaks the documented schema or content type, on forbidden data that is accepted,
and on any error body that is not CONTRACT §4's {"error": {code, message, details?}}.

The operations are the app's own routes (spark.web.app.routes()), so a new route is fuzzed
without anyone adding it here; each is looked up in the document the server publishes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import BaseSchema, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from spark.web.app import routes
from spark.web.routing import ApiRoute

OPERATIONS = [(r.method, r.path_format) for r in routes() if isinstance(r, ApiRoute)]
#: examples per operation and mode: enough to reach the statuses a route answers, bounded so
#: the whole tier stays within about two minutes on two cores
KEYED_EXAMPLES = 100
ANONYMOUS_EXAMPLES = 10
#: health answers its own body, not an error object, when a dependency is down
OWN_BODY = {("GET", "/v1/health")}


@schemathesis.check
def error_body_in_contract_format(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx and 5xx is exactly the contract's error object."""
    if response.status_code < 400 or (case.method, case.path) in OWN_BODY:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(
            f"{response.status_code} is not JSON: {response.content[:200]!r}"
        ) from None
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) <= {"code", "message", "details"}, error
    assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str), error
    assert "details" not in error or isinstance(error["details"], dict), error
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    error_body_in_contract_format,
]


def fuzz(
    schema: BaseSchema, method: str, path: str, examples: int, headers: dict[str, str]
) -> None:
    """Run examples positive and examples negative cases of one operation through CHECKS."""
    operation = schema[path][method]
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            # the same examples on every run, and a failure reported as found (no shrinking)
            phases=[Phase.explicit, Phase.generate],
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def one(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

        try:
            one()
        except Unsatisfiable:
            # Nothing of the operation can be sent wrong (no parameters, no body, or only a
            # path name, whose one negation — empty — no URL can carry); valid data must go.
            if mode is GenerationMode.POSITIVE:
                raise


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_with_a_valid_key(
    api_schema: BaseSchema, fuzz_key: str, method: str, path: str
) -> None:
    """What a legitimate caller can send, and what it can get wrong."""
    fuzz(api_schema, method, path, KEYED_EXAMPLES, {"X-API-Key": fuzz_key})


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_without_credentials(
    api_schema: BaseSchema, method: str, path: str
) -> None:
    """A caller with no key is refused in the error format on every secured route."""
    fuzz(api_schema, method, path, ANONYMOUS_EXAMPLES, {})
