"""Where a webhook may go: public addresses, and the networks the operator allows.

A tenant chooses the webhook URL, and the gateway reports each attempt's status code and
duration back to the tenant. Without a check, a tenant could make the gateway POST to what only
the gateway can reach (the cloud metadata service at 169.254.169.254, the database, the other
services) and map it from those reports. So a URL whose host is, or resolves to, an address
that is not globally routable (loopback, private, link-local, carrier-grade NAT, reserved,
multicast) is refused when the job is asked for and again before every delivery attempt
(a name may resolve elsewhere later), unless that address lies in one of the networks of
``FACEFLOW_GATEWAY_WEBHOOK_ALLOWED_NETWORKS`` (for receivers on the operator's own network).

The check resolves the name itself and httpx resolves it again to connect, so a DNS server
that answers differently within that moment (rebinding) is not stopped by it; the network
policy of the deployment is the stronger guard.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

NOT_ALLOWED = (
    "webhook_url's host is not a public address; webhooks go to public addresses only, "
    "unless the operator allows the network (FACEFLOW_GATEWAY_WEBHOOK_ALLOWED_NETWORKS)"
)
RESOLVE_SECONDS = 2.0  # a name that does not resolve in time is left to the connection


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` -> networks; ValueError naming the entry that is none."""
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP network (e.g. 10.0.0.0/8)") from None
    return tuple(networks)


def address_allowed(address: Address, allowed: Sequence[Network]) -> bool:
    """A globally routable address, or one inside an allowed network."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    public = address.is_global and not address.is_multicast  # 224.0.0.0/4 counts as global
    return public or any(address in network for network in allowed)


async def destination_refusal(url: str, allowed: Sequence[Network]) -> str | None:
    """Why a webhook may not be sent to url (None when it may: every address its host has
    is allowed, or the name does not resolve now and the connection will say so)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "webhook_url has an invalid host or port"
    if not host:
        return "webhook_url has no host"
    try:
        addresses: list[Address] = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = await _resolve(host, port)
    if all(address_allowed(address, allowed) for address in addresses):
        return None
    return NOT_ALLOWED


async def _resolve(host: str, port: int | None) -> list[Address]:
    """Every address the name resolves to (none when it does not resolve in time)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM), RESOLVE_SECONDS
        )
    except (OSError, TimeoutError, UnicodeError):
        return []
    found = []
    for info in infos:
        try:  # an IPv6 address may carry a zone (fe80::1%eth0)
            found.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        except ValueError:
            continue
    return found
