"""The SSRF guard: which URLs the model may make the browser fetch, and which addresses.

Two checks. `check_url` runs on every URL before it is requested (the first one and every
redirect target): the scheme must be http(s), the host must pass the domain lists. `resolve`
runs when a connection is opened (see `_transport`): it resolves the host and refuses the
connection when any address it resolves to is loopback, private, link-local, multicast,
reserved or a cloud metadata endpoint, looking inside IPv6 forms that embed an IPv4 address
(IPv4-mapped, IPv4-compatible, 6to4, NAT64, Teredo). Checking at connect time, on the
addresses actually dialled, leaves no gap for DNS rebinding between check and use.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from enum import StrEnum

import httpx
from harmony_agent.tools.browser._config import GuardConfig
from harmony_agent.tools.browser._errors import Blocked

__all__ = ["AddressClass", "Guard", "classify_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class AddressClass(StrEnum):
    """Why an address is not public; `PUBLIC` when it is."""

    PUBLIC = "public"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    LINK_LOCAL = "link-local"
    METADATA = "cloud metadata"
    MULTICAST = "multicast"
    UNSPECIFIED = "unspecified"
    RESERVED = "reserved"


def classify_address(address: IPAddress) -> AddressClass:
    """Classifies an address, judging an IPv6 address that embeds an IPv4 one by the latter."""
    if isinstance(address, ipaddress.IPv6Address) and not (
        address.is_loopback or address.is_unspecified
    ):
        address = _embedded_ipv4(address) or address
    if address in _METADATA:
        return AddressClass.METADATA
    if address.is_unspecified:
        return AddressClass.UNSPECIFIED
    if address.is_loopback:
        return AddressClass.LOOPBACK
    if address.is_link_local:
        return AddressClass.LINK_LOCAL
    if address.is_multicast:
        return AddressClass.MULTICAST
    if address.is_reserved or address == ipaddress.IPv4Address("255.255.255.255"):
        return AddressClass.RESERVED
    if address.is_private or not address.is_global:
        return AddressClass.PRIVATE
    return AddressClass.PUBLIC


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in _NAT64) or address in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class Guard:
    """Applies a `GuardConfig` to URLs and to the addresses of connections."""

    def __init__(self, config: GuardConfig) -> None:
        self._config = config
        self._allowed = tuple(_domain(name) for name in config.allowed_domains)
        self._denied = tuple(_domain(name) for name in config.denied_domains)

    def check_url(self, url: httpx.URL) -> None:
        """Raises `Blocked` unless `url` is http(s) with a host the domain lists allow."""
        shown = str(url)
        if url.scheme not in ("http", "https"):
            raise Blocked(shown, f"the `{url.scheme}:` scheme is not allowed; use http or https.")
        host = _domain(url.host)
        if not host:
            raise Blocked(shown, "the URL has no host.")
        if _matches(host, self._denied):
            raise Blocked(shown, f"the domain `{host}` is blocked by the browser's settings.")
        if self._allowed and not _matches(host, self._allowed):
            raise Blocked(shown, f"the domain `{host}` is not among the allowed domains.")

    def refusal(self, address: IPAddress) -> AddressClass | None:
        """Why connecting to `address` is refused, or None when it is allowed."""
        kind = classify_address(address)
        if kind is AddressClass.PUBLIC:
            return None
        if kind is AddressClass.LOOPBACK and self._config.allow_localhost:
            return None
        if kind is AddressClass.PRIVATE and self._config.allow_private_networks:
            return None
        return kind

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for `host`; raises `Blocked` if any is refused.

        All addresses must pass, not just one, so that a name resolving to both a public and
        an internal address cannot be used to reach the internal one.
        """
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise Blocked(host, f"the host name could not be resolved ({error}).") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for text in addresses:
            address = ipaddress.ip_address(text.partition("%")[0])
            kind = self.refusal(address)
            if kind is not None:
                raise Blocked(
                    host,
                    f"it resolves to {address}, a {kind} address, which the browser may not "
                    "access. Open a public web address instead.",
                )
        return addresses


def _domain(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _matches(host: str, domains: Sequence[str]) -> bool:
    return any(host == domain or host.endswith(f".{domain}") for domain in domains)
