"""The destination check: every spelling of an address normalised without DNS, names judged by
every address a stand-in resolver gives, and the setting that allows private ones."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

import pytest

from spark.cli.up import single_user_defaults
from spark.config import Settings
from spark.errors import ValidationFailed
from spark.security.destinations import (
    ALLOW_SETTING,
    Destinations,
    host_address,
    is_private,
    literal_refusal,
    parse_ipv4,
)

LOOPBACK = ipaddress.ip_address("127.0.0.1")
METADATA = ipaddress.ip_address("169.254.169.254")


def no_dns(host: str, port: int) -> Sequence[str]:
    raise AssertionError(f"{host} was looked up")


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("127.0.0.1", LOOPBACK),
        ("2130706433", LOOPBACK),
        ("0x7f000001", LOOPBACK),
        ("0X7F000001", LOOPBACK),
        ("127.1", LOOPBACK),
        ("127.0.1", LOOPBACK),
        ("0177.0.0.1", LOOPBACK),
        ("0177.1", LOOPBACK),
        ("0x7f.0.0.1", LOOPBACK),
        ("0x7f.1", LOOPBACK),
        ("0x7f.0.0x0.01", LOOPBACK),
        ("017700000001", LOOPBACK),
        ("127.0.0.1.", LOOPBACK),
        ("2852039166", METADATA),
        ("0xa9fea9fe", METADATA),
        ("169.254.43518", METADATA),
        ("0251.0376.0251.0376", METADATA),
        ("0", ipaddress.ip_address("0.0.0.0")),
        ("0.0.0.0", ipaddress.ip_address("0.0.0.0")),
        ("1.256", ipaddress.ip_address("1.0.1.0")),
    ],
)
def test_every_ipv4_spelling_is_read_as_inet_aton_reads_it(
    spelling: str, address: ipaddress.IPv4Address
) -> None:
    """Integer, hex, octal, short and mixed forms are the address a connection would reach."""
    assert parse_ipv4(spelling) == address
    assert host_address(spelling) == address


@pytest.mark.parametrize(
    "name",
    ["example.test", "08.0.0.1", "256.0.0.1", "1.2.3.4.5", "4294967296", "1..2", "0x1g", "", "."],
)
def test_what_no_parser_reads_as_ipv4_is_a_name(name: str) -> None:
    """Out-of-range parts, bad octal, five parts or letters: left to the resolver."""
    assert parse_ipv4(name) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("::FFFF:7F00:1", "::ffff:7f00:1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::1", "::1"),
        ("::", "::"),
        ("\uff11\uff12\uff17\u3002\uff10\uff0e\uff10\uff0e\uff11", "127.0.0.1"),
    ],
)
def test_ipv6_forms_and_full_width_spellings_are_addresses(host: str, address: str) -> None:
    """Brackets, zones, case and the full-width digits and dots URL parsers map are undone."""
    assert host_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "198.18.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::127.0.0.1",
        "64:ff9b::a00:1",
        "2002:a9fe:a9fe::1",
    ],
)
def test_private_loopback_link_local_reserved_unspecified_and_multicast_are_private(
    address: str,
) -> None:
    """Including the IPv6 forms that carry a private IPv4 (mapped, compatible, NAT64, 6to4)."""
    assert is_private(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_unicast_addresses_are_not_private(address: str) -> None:
    """A public IPv4 stays public when mapped or reached through NAT64."""
    assert not is_private(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",
        "http://0x7f000001:8080/mcp",
        "http://127.1/",
        "http://0177.0.0.1/",
        "http://2852039166/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0:8000/",
        "http://LOCALHOST./",
        "http://editor.localhost/",
        "http://someone@127.1/",
        "http://ci.example.test@0x7f000001/",
    ],
)
def test_a_literal_private_url_is_refused_without_dns(url: str) -> None:
    """The literal check needs no resolver (getaddrinfo would read some spellings, but that
    must not be what stands between a user and the metadata service)."""
    assert literal_refusal(url) is not None
    assert Destinations(resolve=no_dns).refusal(url) is not None


def test_a_public_literal_address_is_allowed_without_a_lookup() -> None:
    assert Destinations(resolve=no_dns).refusal("https://93.184.216.34/hooks") is None


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    """One private answer among public ones is enough: the client may connect to it."""
    answers = {"public.test": ["93.184.216.34"], "split.test": ["93.184.216.34", "10.0.0.7"]}
    check = Destinations(resolve=lambda host, port: answers[host])
    assert check.refusal("https://public.test/hook") is None
    refused = check.refusal("https://split.test/hook")
    assert refused is not None and "split.test" in refused and "10.0.0.7" in refused


def test_the_resolver_is_asked_for_the_port_the_client_would_use() -> None:
    asked: list[tuple[str, int]] = []

    def record(host: str, port: int) -> Sequence[str]:
        asked.append((host, port))
        return ["93.184.216.34"]

    check = Destinations(resolve=record)
    for url in ("https://a.test/", "http://b.test/", "http://c.test:8080/mcp"):
        check.refusal(url)
    assert asked == [("a.test", 443), ("b.test", 80), ("c.test", 8080)]


def test_a_name_that_does_not_resolve_is_refused_at_use_but_not_at_registration() -> None:
    """A passing DNS failure must not refuse a setting; nothing is sent where nothing was seen."""

    def no_answer(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    check = Destinations(resolve=no_answer)
    assert check.refusal("https://gone.test/", registering=True) is None
    refused = check.refusal("https://gone.test/")
    assert refused is not None and "does not resolve" in refused


def test_allowing_private_destinations_skips_every_check() -> None:
    allowed = Destinations(allow_private=True, resolve=no_dns)
    assert allowed.refusal("http://127.1/") is None
    assert allowed.refusal("http://editor.lan.test/") is None


def test_a_refusal_at_registration_names_each_field_and_the_setting() -> None:
    check = Destinations(resolve=lambda host, port: ["127.0.0.1"])
    urls = [
        ("unity_mcp_url", "http://editor.lan.test:8080/mcp"),
        ("webhooks.0.url", "https://93.184.216.34/"),
        ("webhooks.1.url", "http://0x7f000001/"),
    ]
    with pytest.raises(ValidationFailed) as refused:
        check.require_allowed(urls)
    details = refused.value.details or {}
    assert details["field"] == "unity_mcp_url" and details["setting"] == ALLOW_SETTING
    assert [e["field"] for e in details["errors"]] == ["unity_mcp_url", "webhooks.1.url"]
    assert refused.value.message.startswith("unity_mcp_url: editor.lan.test resolves to")
    assert ALLOW_SETTING in refused.value.message
    check.require_allowed(urls[1:2])  # nothing refused: no error


def test_the_setting_has_a_new_name_and_keeps_its_old_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """SPARK_WEBHOOK_ALLOW_PRIVATE still works; SPARK_ALLOW_PRIVATE_DESTINATIONS wins over it."""
    assert Settings().allow_private_destinations is False
    monkeypatch.setenv("SPARK_WEBHOOK_ALLOW_PRIVATE", "true")
    assert Settings().allow_private_destinations is True
    monkeypatch.setenv("SPARK_ALLOW_PRIVATE_DESTINATIONS", "false")
    assert Settings().allow_private_destinations is False
    assert Settings(allow_private_destinations=True).allow_private_destinations is True


def test_spark_up_allows_private_destinations_unless_told_not_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One user's own machine: their editor on localhost:8080 is the usual setup. A value
    in the environment, under either name, is left as it is."""
    assert single_user_defaults(Settings()) == {ALLOW_SETTING: "true"}
    monkeypatch.setenv("SPARK_ALLOW_PRIVATE_DESTINATIONS", "false")
    assert ALLOW_SETTING not in single_user_defaults(Settings())
    monkeypatch.delenv("SPARK_ALLOW_PRIVATE_DESTINATIONS")
    monkeypatch.setenv("SPARK_WEBHOOK_ALLOW_PRIVATE", "false")
    assert ALLOW_SETTING not in single_user_defaults(Settings())
