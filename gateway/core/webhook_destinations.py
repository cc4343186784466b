"""Where a webhook may go: public addresses, and the networks the operator allows.

A tenant chooses the webhook URL, and the gateway reports each attempt's status code and
duration back to the tenant. Without a check, a tenant could make the gateway POST to what only
the gateway can reach (the cloud metadata service at 169.254.169.254, the database, the other
services) and map it from those reports. So the URL's host is resolved here, and it is refused
unless every address it has is public (not loopback, private, link-local, carrier-grade NAT,
reserved, site-local or multicast, nor an IPv6 address carrying such an IPv4 one: mapped,
compatible, 6to4, Teredo, NAT64) or inside one of the networks of
``FACEFLOW_GATEWAY_WEBHOOK_ALLOWED_NETWORKS`` (for receivers on the operator's own network).
A name that does not resolve within ``RESOLVE_SECONDS`` is refused too, with the same message
(so the answer does not tell a tenant which internal names exist).

This runs when the job is asked for and again before every delivery attempt, and the attempt
connects to the address checked (``Destination``: the URL with the address in place of the name,
the name kept in the ``Host`` header and, for https, in TLS's SNI and certificate check), so a
DNS answer that changes in between (rebinding) is not used. (Through a proxy of the environment,
``HTTPS_PROXY`` and the like, the proxy resolves the name: the address is checked, not pinned.)
Lookups run on a pool of 16 threads of their own, so a DNS server that never answers cannot hold
the threads video decoding uses; a lookup still running when the 2 s are up keeps its thread
until the resolver gives up, so a tenant pointing many webhooks at such a server can make other
tenants' checks time out for that long (a 400 when asking for a job, a retried attempt at
delivery).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

NOT_ALLOWED = (
    "webhook_url's host does not resolve to a public address; webhooks go to public addresses "
    "only, unless the operator allows the network (FACEFLOW_GATEWAY_WEBHOOK_ALLOWED_NETWORKS)"
)
BAD_HOST = "webhook_url has an invalid host or port"
RESOLVE_SECONDS = 2.0
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known prefix: the IPv4 is the low 32 bits
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")  # local translators: where to is unknown
_RESOLVER = ThreadPoolExecutor(max_workers=16, thread_name_prefix="webhook-dns")


class DestinationRefusedError(Exception):
    """The webhook URL may not be reached; the message says why (safe to show the tenant)."""


class NoAddressError(DestinationRefusedError):
    """The name did not resolve (in time): refused when a job is asked for, a failed (and
    retried) attempt at delivery, like a refused connection."""


@dataclass(frozen=True)
class Destination:
    """Where one attempt connects: ``url`` holds the checked address instead of the name."""

    url: str
    host_header: str
    sni_hostname: str | None  # https: the name TLS sends and checks the certificate against


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


def _translated_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses a translating or tunnelling IPv6 address reaches (NAT64, 6to4,
    Teredo, IPv4-compatible ``::a.b.c.d``); None for an address of no such kind."""
    if address in NAT64 or int(address) >> 32 == 0:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    return None


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        translated = _translated_ipv4(address)
        if translated is not None:  # where the packet ends up decides
            return all(_public(a) for a in translated)
        if address.is_site_local or address in LOCAL_NAT64:
            return False
    # 224.0.0.0/4 and 240.0.0.0/4 count as global in Python's table
    return address.is_global and not address.is_multicast and not address.is_reserved


def address_allowed(address: Address, allowed: Sequence[Network]) -> bool:
    """A public address, or one inside an allowed network."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return _public(address) or any(address in network for network in allowed)


async def check_destination(url: str, allowed: Sequence[Network]) -> Destination:
    """Where an attempt to url connects; DestinationRefusedError when it may not."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise DestinationRefusedError(BAD_HOST) from None
    if not host:
        raise DestinationRefusedError(BAD_HOST)
    try:
        addresses: list[Address] = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = await _resolve(host, port)
    if not addresses:
        raise NoAddressError(NOT_ALLOWED)  # the same words: no oracle for internal names
    if not all(address_allowed(a, allowed) for a in addresses):
        raise DestinationRefusedError(NOT_ALLOWED)
    userinfo, _, host_port = parts.netloc.rpartition("@")
    if _proxied(parts.scheme.lower()):  # the proxy resolves and connects: nothing to pin
        return Destination(url, host_port, None)
    chosen = addresses[0]
    literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = (
        (f"{userinfo}@" if userinfo else "") + literal + (f":{port}" if port is not None else "")
    )
    https = parts.scheme.lower() == "https"
    return Destination(parts._replace(netloc=netloc).geturl(), host_port, host if https else None)


def _proxied(scheme: str) -> bool:
    """Whether httpx will send this scheme through a proxy of the environment (HTTPS_PROXY,
    ALL_PROXY, ...): pinning the address would make it check the certificate against the IP."""
    proxies = urllib.request.getproxies()
    return bool(proxies.get(scheme) or proxies.get("all"))


async def _resolve(host: str, port: int | None) -> list[Address]:
    """Every address the name resolves to (none when it does not resolve in time)."""
    loop = asyncio.get_running_loop()
    lookup = loop.run_in_executor(
        _RESOLVER, socket.getaddrinfo, host, port or 443, 0, socket.SOCK_STREAM
    )
    try:
        infos = await asyncio.wait_for(lookup, RESOLVE_SECONDS)
    except (OSError, TimeoutError, UnicodeError):
        return []
    found = []
    for info in infos:
        try:  # an IPv6 address may carry a zone (fe80::1%eth0)
            found.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        except ValueError:
            continue
    return found
