"""POST /v1/projects refuses URLs SPARK would call inside a private network (webhooks, the
project's unity-mcp server) in every spelling, naming the field and the setting that allows
them; names are resolved through a stand-in resolver, never DNS."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from starlette.testclient import TestClient

from spark.config import Settings
from spark.security.destinations import ALLOW_SETTING, Destinations
from spark.web.app import create_app
from spark.web.services import build_services
from tests.support.jobs import auth

#: made-up names and what the stand-in resolver answers for them
NAMES = {
    "ci.example.test": ["93.184.216.34"],
    "editor.lan.test": ["127.0.0.1"],
    "split.example.test": ["93.184.216.34", "10.0.0.7"],
}
PUBLIC_HOOK = "https://ci.example.test/hooks/spark"
#: every one means this machine or the cloud metadata service
PRIVATE_URLS = [
    "http://2130706433:8080/mcp",
    "http://0x7f000001:8080/mcp",
    "http://127.1:8080/mcp",
    "http://0177.0.0.1:8080/mcp",
    "http://2852039166/latest/meta-data/",
    "http://[::ffff:127.0.0.1]:8080/mcp",
    "http://0.0.0.0:8080/mcp",
    "http://editor.lan.test:8080/mcp",
]


def stand_in_resolver(host: str, port: int) -> Sequence[str]:
    """NAMES, and no answer for any other name."""
    if host not in NAMES:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return NAMES[host]


def project(**extra: Any) -> dict[str, Any]:
    """A project body from a remote repository (cloned by the farm, never called by the API)."""
    return {"name": "Space Shooter", "git_url": "https://git.example.test/shooter.git", **extra}


@pytest.fixture
def strict(settings: Settings) -> Iterator[TestClient]:
    """The API as a shared SPARK runs it: private destinations refused."""
    refused = settings.model_copy(update={"allow_private_destinations": False})
    svc = build_services(refused)
    checked = Destinations(allow_private=False, resolve=stand_in_resolver)
    app = create_app(services=dataclasses.replace(svc, destinations=checked))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def assert_refused(resp: Any, field: str) -> None:
    """A 422 naming field and the setting that would allow the URL."""
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["field"] == field
    assert error["details"]["setting"] == ALLOW_SETTING
    assert error["message"].startswith(f"{field}: ") and ALLOW_SETTING in error["message"]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_a_webhook_into_a_private_network_is_refused_at_registration(
    strict: TestClient, api_key: str, url: str
) -> None:
    """Integer, hex, octal, short, IPv4-mapped, unspecified or a name resolving to loopback:
    a 422 naming the webhook, and nothing is stored."""
    body = project(webhooks=[{"url": PUBLIC_HOOK}, {"url": url}])
    assert_refused(strict.post("/v1/projects", json=body, headers=auth(api_key)), "webhooks.1.url")
    assert strict.get("/v1/projects", headers=auth(api_key)).json()["items"] == []


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_an_editor_server_in_a_private_network_is_refused_at_registration(
    strict: TestClient, api_key: str, url: str
) -> None:
    """The project's unity_mcp_url is checked as a webhook is, not first when a job uses it."""
    body = project(unity_mcp_url=url, unity_instance="Space@a1b2c3d4")
    assert_refused(strict.post("/v1/projects", json=body, headers=auth(api_key)), "unity_mcp_url")
    assert strict.get("/v1/projects", headers=auth(api_key)).json()["items"] == []


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_with_private_destinations_allowed_the_same_urls_are_registered(
    client: TestClient, api_key: str, url: str
) -> None:
    """SPARK_ALLOW_PRIVATE_DESTINATIONS (set in the suite's settings): 201, as given."""
    body = project(unity_mcp_url=url, webhooks=[{"url": url}])
    resp = client.post("/v1/projects", json=body, headers=auth(api_key))
    assert resp.status_code == 201, resp.text
    assert resp.json()["unity_mcp_url"] == url
    assert resp.json()["webhooks"][0]["url"] == url


def test_every_refused_destination_is_listed(strict: TestClient, api_key: str) -> None:
    """One answer names them all, in the body's order: the editor first, then each webhook."""
    hooks = [{"url": PUBLIC_HOOK}, {"url": "http://10.0.0.5/"}, {"url": "http://localhost/"}]
    body = project(unity_mcp_url="http://169.254.169.254/", webhooks=hooks)
    resp = strict.post("/v1/projects", json=body, headers=auth(api_key))
    assert_refused(resp, "unity_mcp_url")
    fields = [e["field"] for e in resp.json()["error"]["details"]["errors"]]
    assert fields == ["unity_mcp_url", "webhooks.1.url", "webhooks.2.url"]


def test_a_name_with_any_private_address_is_refused(strict: TestClient, api_key: str) -> None:
    """The HTTP client may connect to any address a name has: one private one is enough."""
    body = project(webhooks=[{"url": "https://split.example.test/hook"}])
    resp = strict.post("/v1/projects", json=body, headers=auth(api_key))
    assert_refused(resp, "webhooks.0.url")
    assert "10.0.0.7" in resp.json()["error"]["message"]


def test_public_destinations_are_registered(strict: TestClient, api_key: str) -> None:
    """A public name or address is accepted with private destinations refused."""
    body = project(
        unity_mcp_url="https://ci.example.test/mcp",
        webhooks=[{"url": PUBLIC_HOOK}, {"url": "https://93.184.216.34/hooks"}],
    )
    assert strict.post("/v1/projects", json=body, headers=auth(api_key)).status_code == 201


def test_a_name_that_does_not_resolve_yet_is_registered(strict: TestClient, api_key: str) -> None:
    """A passing DNS failure does not refuse a setting: each use checks the name again."""
    body = project(webhooks=[{"url": "https://not-yet.example.test/hook"}])
    assert strict.post("/v1/projects", json=body, headers=auth(api_key)).status_code == 201


def test_the_operators_own_editor_server_is_trusted(settings: Settings, api_key: str) -> None:
    """A project may name SPARK_UNITY_MCP_URL itself (to pick its instance there) though it
    is on a private address: the operator chose it, not the user."""
    operator = settings.model_copy(
        update={"allow_private_destinations": False, "unity_mcp_url": "http://127.0.0.1:8080/mcp"}
    )
    with TestClient(create_app(operator), raise_server_exceptions=False) as client:
        body = project(unity_mcp_url="http://127.0.0.1:8080/mcp")
        assert client.post("/v1/projects", json=body, headers=auth(api_key)).status_code == 201
