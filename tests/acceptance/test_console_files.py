"""GET /console: the console's files, served by the API without a key, each with the
console's security headers, gzipped when asked, revalidated by ETag; and the files themselves
never build markup from strings or run strings as code."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from spark.web.routes.console import ROOT

PAGES = ["/console", "/console/activity", "/console/jobs/6f1c0c9e-1b7e-4d7b-9a57-0a4c3c1d2e3f"]


@pytest.mark.parametrize("path", PAGES)
def test_every_console_page_is_the_console_with_a_strict_policy_and_needs_no_key(
    client: TestClient, path: str
) -> None:
    resp = client.get(path)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert "SPARK console" in resp.text
    csp = dict(
        part.strip().split(" ", 1) for part in resp.headers["content-security-policy"].split(";")
    )
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["connect-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["require-trusted-types-for"] == "'script'"
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"


def test_a_script_is_gzipped_when_asked_and_revalidated_by_its_etag(client: TestClient) -> None:
    plain = client.get("/console/js/main.js", headers={"Accept-Encoding": "identity"})
    assert plain.headers["content-type"].startswith("text/javascript")
    assert "content-encoding" not in plain.headers
    zipped = client.get("/console/js/main.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) < len(plain.content)
    assert zipped.content == plain.content  # decoded by the client
    again = client.get("/console/js/main.js", headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    "path", ["/console/js/missing.js", "/console/%2e%2e/routes/console.py", "/console/..%2fapp.py"]
)
def test_a_file_the_console_does_not_ship_is_a_404(client: TestClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"


#: what would turn a string into markup or code: refused by the policy's Trusted Types, and
#: absent from the console's files
UNSAFE = re.compile(
    r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
    r"setTimeout\(\s*['\"`]|style=|\son[a-z]+="
)


def test_no_console_file_builds_markup_from_strings_or_has_inline_script() -> None:
    found = []
    for path in ROOT.rglob("*"):
        if path.suffix in {".js", ".html"}:
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if UNSAFE.search(line) and not line.lstrip().startswith("//"):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    index = (ROOT / "index.html").read_text()
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", index)), "inline script"
    assert not found, "\n".join(found)
