"""Where webhooks may be sent (SPEC §9): no request forgery into the platform's network.

Outside development an endpoint URL must be `https`, carry no user name or password, and its
host must resolve only to public addresses: no loopback, private (RFC 1918, unique-local),
link-local (which holds the cloud metadata service, 169.254.169.254 and fd00:ec2::254),
carrier-grade NAT, multicast, reserved or unspecified address, IPv4 inside IPv6 included.
The check runs when the endpoint is registered and again at every delivery, on the addresses
the delivery then connects to (`resolve_allowed` returns them), so a name that later
resolves somewhere else (DNS rebinding) is refused at delivery time.

In development (`BILLING_ENV=development`, the default) any http(s) URL is accepted, so a
receiver on 127.0.0.1 works out of the box.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from billing_center.domain.errors import DomainError, ErrorCode

MAX_URL_LENGTH = 2048
# Metadata services that are not in a range the checks below refuse anyway.
_METADATA = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}

# host, port -> addresses (text): the system resolver by default, replaced in tests.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to now (the operating system's resolver)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`addresses`) and what to say there (`host` for the
    Host header, TLS SNI and the certificate)."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def _refused(message: str) -> DomainError:
    return DomainError(ErrorCode.WEBHOOK_URL_NOT_ALLOWED, message, ("input", "url"))


def parse(url: str, production: bool) -> SplitResult:
    """The URL's parts; WEBHOOK_URL_NOT_ALLOWED unless it is an absolute http(s) URL (https
    only in production) with a host and no credentials."""
    text = (url or "").strip()
    if not text or len(text) > MAX_URL_LENGTH:
        raise _refused(f"Give an absolute URL of at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as error:
        raise _refused(f"This is not a valid URL: {error}.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refused("Give an absolute http(s) URL, e.g. https://hooks.example.com/billing.")
    if production and parts.scheme != "https":
        raise _refused("Webhook URLs must use https.")
    if parts.username is not None or parts.password is not None:
        raise _refused("Webhook URLs may not carry a user name or password; authenticate with the signature.")
    if parts.fragment:
        raise _refused("Webhook URLs may not have a #fragment.")
    if any(ord(c) < 33 or ord(c) == 127 for c in text):
        raise _refused("Webhook URLs may not contain spaces or control characters.")
    return parts


def public_address(address: str) -> bool:
    """True when `address` is a public unicast address (an IPv4 address inside IPv6 is
    judged as the IPv4 address it carries)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        carried = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if carried is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            carried = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if carried is not None:
            return public_address(str(carried))
    return ip.is_global and not ip.is_multicast and ip not in _METADATA


async def resolve_allowed(url: str, production: bool, resolver: Resolver = system_resolver) -> Target:
    """`url` checked and resolved: WEBHOOK_URL_NOT_ALLOWED when it is not acceptable or, in
    production, when its host does not resolve or any of its addresses is not public."""
    parts = parse(url, production)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = await resolver(host, port)
        except (OSError, UnicodeError) as error:
            raise _refused(f"The host {host} does not resolve ({error.__class__.__name__}).") from None
    if not addresses:
        raise _refused(f"The host {host} does not resolve.")
    if production:
        refused = [address for address in addresses if not public_address(address)]
        if refused:
            raise _refused(f"The host {host} resolves to an address that is not public ({refused[0]}): "
                           "loopback, private, link-local and metadata addresses are refused.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url=url.strip(), scheme=parts.scheme, host=host, port=port, path=path, addresses=tuple(addresses))
