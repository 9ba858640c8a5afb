"""Where SPARK may send requests on a user's behalf: no private networks unless allowed.

A webhook URL is chosen by the user; without this check it could point SPARK at the cloud
metadata service or an internal admin port (server-side request forgery). Operators who
want webhooks inside their own network set SPARK_WEBHOOK_ALLOW_PRIVATE.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

#: host names that always mean this machine, whatever DNS says
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _refused_ip(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def literal_refusal(url: str) -> str | None:
    """Why url may not be used, judged without DNS (a literal IP or a local name), or None."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return f"{host} is this machine"
    try:
        refused = _refused_ip(host)
    except ValueError:
        return None
    return f"{host} is a private or reserved address" if refused else None


def refusal(url: str) -> str | None:
    """Why url may not be used once its host is resolved, or None when every address is public.

    (A name that resolves differently on the next lookup could still slip past: the check
    narrows the hole to DNS rebinding, which needs an attacker-run name server.)
    """
    found = literal_refusal(url)
    if found is not None:
        return found
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        return f"{host} does not resolve ({exc.strerror or exc})"
    private = sorted({str(info[4][0]) for info in infos if _refused_ip(str(info[4][0]))})
    return f"{host} resolves to a private or reserved address ({private[0]})" if private else None
