"""The OpenAPI document is built from the routes: it cannot list a route the app lacks, miss
one it serves, or disagree with a route about its query parameters."""

from __future__ import annotations

from spark.kinds import available
from spark.web.app import routes
from spark.web.openapi import OPERATIONS, openapi_document
from spark.web.routing import ApiRoute

APP_ROUTES = [r for r in routes() if isinstance(r, ApiRoute)]


def test_every_route_is_an_api_route_with_an_operation_and_every_operation_a_route() -> None:
    """A route added without its summary and responses fails here, not as a 500 on /openapi.json."""
    assert len(APP_ROUTES) == len(routes())
    assert {(r.method, r.path) for r in APP_ROUTES} == set(OPERATIONS)


def test_each_operations_query_parameters_are_the_routes_declared_ones() -> None:
    """The check that refuses unknown parameters and the document read the same model."""
    paths = openapi_document(routes())["paths"]
    for route in APP_ROUTES:
        op = paths[route.path_format][route.method.lower()]
        listed = {p["name"] for p in op["parameters"] if p["in"] == "query"}
        assert listed == set(route.query.model_fields), route.path


def test_a_submission_is_a_union_over_the_kinds_discriminated_on_kind() -> None:
    """Each kind this server runs has its variant, whose params are that kind's model."""
    schemas = openapi_document(routes())["components"]["schemas"]
    union = schemas["JobSubmission"]
    assert union["discriminator"]["propertyName"] == "kind"
    assert set(union["discriminator"]["mapping"]) == {s.kind.value for s in available()}
    for spec in available():
        name = union["discriminator"]["mapping"][spec.kind.value].rsplit("/", 1)[1]
        variant = schemas[name]
        assert variant["properties"]["kind"]["const"] == spec.kind.value
        assert variant["properties"]["params"]["$ref"].endswith(f"/{spec.params.__name__}")
        assert spec.params.__name__ in schemas


def test_every_secured_operation_lists_the_security_layers_refusals() -> None:
    """401, 403, 429 and 503 can come from any route that needs credentials, 431 and 413 from any."""
    paths = openapi_document(routes())["paths"]
    for path, ops in paths.items():
        for op in ops.values():
            assert {"400", "413", "431"} <= set(op["responses"]), path
            if op.get("security") != []:
                assert {"401", "403", "429", "503"} <= set(op["responses"]), path


def test_an_optional_query_parameter_may_be_sent_empty_as_the_models_read_it() -> None:
    """`?session_id=` means no filter; the document must allow what the route accepts, or a
    client following it (and the fuzzer) is told a valid request is invalid."""
    paths = openapi_document(routes())["paths"]
    params = {p["name"]: p["schema"] for p in paths["/v1/jobs"]["get"]["parameters"]}
    assert {"type": "string", "maxLength": 0} in params["session_id"]["anyOf"]
    assert {"type": "string", "maxLength": 0} in params["cursor"]["anyOf"]
    assert "anyOf" not in params["limit"]
