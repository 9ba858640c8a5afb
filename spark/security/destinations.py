"""Where SPARK may send requests on a user's behalf: no private networks unless allowed.

A URL a user chooses (a webhook, a project's unity-mcp server) could otherwise point SPARK at
the cloud metadata service or an internal admin port (server-side request forgery). Each is
checked when it is registered, so a refused one is a 422 naming its field rather than a
setting that silently never works, and again each time it is used, since what a name resolves
to can change. Operators who want destinations inside their own network set
SPARK_ALLOW_PRIVATE_DESTINATIONS (or its former name, SPARK_WEBHOOK_ALLOW_PRIVATE).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from spark.errors import ValidationFailed

#: the setting that lets SPARK call private addresses
ALLOW_SETTING = "SPARK_ALLOW_PRIVATE_DESTINATIONS"
#: what a refusal tells the user (or the operator) to change
ALLOW_HINT = f"set {ALLOW_SETTING}=true to allow private destinations"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: host and port to the addresses a connection would try, raising OSError when there are none
Resolver = Callable[[str, int], Sequence[str]]

#: host names that always mean this machine, whatever DNS says
_LOCAL_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "localhost6"}
)
#: full stops that URL parsers (UTS #46) read as "."
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_HEX = re.compile(r"0[xX][0-9A-Fa-f]*")
_OCTAL = re.compile(r"0[0-7]+")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
#: the well-known NAT64 prefix: its last 32 bits are the IPv4 address a gateway reaches
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _ipv4_part(text: str) -> int | None:
    """One dotted part as inet_aton and URL parsers read it: 0x hex, 0-led octal, or decimal."""
    if _HEX.fullmatch(text):
        return int(text[2:] or "0", 16)
    if _OCTAL.fullmatch(text):
        return int(text, 8)
    if _DECIMAL.fullmatch(text):
        return int(text)
    return None


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """host as an IPv4 address in any spelling inet_aton or a URL parser accepts, or None.

    One to four parts, each decimal, 0x hex or 0-led octal; the last fills the bytes left:
    `127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1` and `0x7f.0.1` are all 127.0.0.1.
    """
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # a trailing dot
    numbers = [_ipv4_part(part) for part in parts]
    if not 1 <= len(numbers) <= 4 or None in numbers:
        return None
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def host_address(host: str) -> Address | None:
    """The address a URL's host spells literally (IPv6 with or without brackets and zone,
    IPv4 in any spelling, full-width digits and dots as URL parsers map them), or None for
    a name."""
    text = unicodedata.normalize("NFKC", host).translate(_DOTS).strip().lower()
    text = text.removeprefix("[").removesuffix("]").split("%", 1)[0]
    if ":" not in text:
        return parse_ipv4(text)
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None


def is_private(ip: Address) -> bool:
    """Whether ip is anything but a public unicast address: private, loopback, link-local,
    shared, reserved, unspecified or multicast, or an IPv6 address carrying such an IPv4."""
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4-mapped and NAT64 addresses reach exactly their IPv4 address: judge that.
        if ip.ipv4_mapped is not None:
            return is_private(ip.ipv4_mapped)
        if ip in _NAT64:
            return is_private(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None and is_private(ip.sixtofour):
            return True
    # IPv4-compatible ::a.b.c.d falls in ::/8, which is reserved.
    return not ip.is_global or ip.is_multicast or ip.is_reserved


def literal_refusal(url: str) -> str | None:
    """Why url may not be called, judged without DNS (a literal address or a local name)."""
    host = urlsplit(url).hostname or ""
    address = host_address(host)
    if address is not None:
        return f"{host} is a private or reserved address" if is_private(address) else None
    name = host.rstrip(".")
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return f"{host} is this machine"
    return None


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses an HTTP client connecting to host:port would try (getaddrinfo)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def _private_addresses(addresses: Sequence[str]) -> list[str]:
    found = set()
    for text in addresses:
        address = host_address(text)
        # an answer that is no address at all is as suspect as a private one
        if address is None or is_private(address):
            found.add(text)
    return sorted(found)


@dataclass(frozen=True)
class Destinations:
    """The one check of a URL SPARK calls for a user, made when the URL is registered and
    again each time it is used."""

    allow_private: bool = False
    resolve: Resolver = resolve_host

    def refusal(self, url: str, *, registering: bool = False) -> str | None:
        """Why url may not be called, or None. Its host is judged literally, then by every
        address it resolves to. A name that does not resolve is refused at use (nothing could
        be sent, and a retry could resolve elsewhere) but not at registration (a passing DNS
        failure must not refuse a setting).

        (A name that resolves differently between this check and the connection could still
        slip past: that is DNS rebinding, and needs an attacker-run name server.)
        """
        if self.allow_private:
            return None
        parts = urlsplit(url)
        host = parts.hostname or ""
        found = literal_refusal(url)
        if found is not None or host_address(host) is not None:
            return found  # a literal address needs no lookup
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        try:
            private = _private_addresses(self.resolve(host, port))
        except OSError as exc:
            return None if registering else f"{host} does not resolve ({exc.strerror or exc})"
        if not private:
            return None
        return f"{host} resolves to a private or reserved address ({private[0]})"

    def require_allowed(self, urls: Sequence[tuple[str, str]]) -> None:
        """A 422 naming every (field, url) pair whose URL may not be called, and the setting
        that would allow it; nothing when all may be."""
        errors = [
            {"field": field, "message": f"{reason}; {ALLOW_HINT}", "type": "private_destination"}
            for field, url in urls
            if (reason := self.refusal(url, registering=True)) is not None
        ]
        if errors:
            first = errors[0]
            raise ValidationFailed(
                f"{first['field']}: {first['message']}",
                details={"field": first["field"], "setting": ALLOW_SETTING, "errors": errors},
            )
