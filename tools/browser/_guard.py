"""The SSRF guard: which URLs the model may make the browser fetch, and which addresses.

Two checks. `check_url` runs on every URL before it is requested (the first one and every
redirect target): the scheme must be http(s), the host must pass the domain lists. `resolve`
runs when a connection is opened (see `_transport`): it resolves the host and refuses the
connection unless every address it resolves to is globally routable. Checking at connect
time, on the addresses actually dialled, leaves no gap for DNS rebinding between check and use.

"Globally routable" is a rule rather than a list of bad ranges, so that a range missing from a
list (site-local `fec0::/10` was public to Python 3.11's `is_global`) is refused too: a unicast
address that `ipaddress` calls global, and for IPv6 inside 2000::/3, the only space allocated
for global unicast. IPv6 spellings of an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64)
are judged as that IPv4 address; tunnel addresses that carry one (6to4, Teredo) are judged on
both. Classes other than public name the reason, and two of them can be allowed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import ipaddress
import socket
from collections.abc import Sequence
from enum import StrEnum

import httpx
from harmony_agent.tools.browser._config import GuardConfig
from harmony_agent.tools.browser._errors import Blocked

__all__ = ["AddressClass", "Guard", "address_classes", "classify_address"]

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
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class AddressClass(StrEnum):
    """Why an address is not public; `PUBLIC` when it is globally routable."""

    PUBLIC = "public"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    LINK_LOCAL = "link-local"
    METADATA = "cloud metadata"
    MULTICAST = "multicast"
    UNSPECIFIED = "unspecified"
    RESERVED = "reserved"


# Gravest first: which class `classify_address` and refusals name when an address has several.
_SEVERITY = (
    AddressClass.METADATA,
    AddressClass.RESERVED,
    AddressClass.UNSPECIFIED,
    AddressClass.MULTICAST,
    AddressClass.LINK_LOCAL,
    AddressClass.LOOPBACK,
    AddressClass.PRIVATE,
    AddressClass.PUBLIC,
)


def classify_address(address: IPAddress) -> AddressClass:
    """The class of `address`: the gravest of `address_classes`."""
    return min(address_classes(address), key=_SEVERITY.index)


def address_classes(address: IPAddress) -> tuple[AddressClass, ...]:
    """The classes of `address` and of the IPv4 address it carries, if any.

    An IPv6 spelling of an IPv4 address has that address's class alone; a tunnel address
    (6to4, Teredo) has its own class and the class of the IPv4 address inside.
    """
    if isinstance(address, ipaddress.IPv4Address):
        return (_classify(address),)
    spelled = _spelled_ipv4(address)
    if spelled is not None:
        return (_classify(spelled),)
    tunnelled = _tunnelled_ipv4(address)
    if tunnelled is not None:
        return (_classify(address), _classify(tunnelled))
    return (_classify(address),)


def _classify(address: IPAddress) -> AddressClass:
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
    if address.is_global and (address.version == 4 or address in _GLOBAL_UNICAST):
        return AddressClass.PUBLIC
    if address.is_reserved:
        return AddressClass.RESERVED
    return AddressClass.PRIVATE  # private, shared (100.64/10), site-local, documentation, ...


def _spelled_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (packets go to that address)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.is_loopback or address.is_unspecified:
        return None  # ::1 and :: are in ::/96 but are not IPv4-compatible addresses
    if any(address in network for network in _NAT64) or address in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _tunnelled_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside a tunnel address (the 6to4 router, the Teredo client)."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
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
        refused = [kind for kind in address_classes(address) if not self._allows(kind)]
        return min(refused, key=_SEVERITY.index) if refused else None

    def _allows(self, kind: AddressClass) -> bool:
        if kind is AddressClass.LOOPBACK:
            return self._config.allow_localhost
        if kind is AddressClass.PRIVATE:
            return self._config.allow_private_networks
        return kind is AddressClass.PUBLIC

    async def resolve(
        self, host: str, port: int, resolvers: concurrent.futures.Executor | None = None
    ) -> list[str]:
        """The addresses to connect to for `host`; raises `Blocked` if any is refused.

        All addresses must pass, not just one, so that a name resolving to both a public and
        an internal address cannot be used to reach the internal one. The system resolver
        blocks a thread of `resolvers` (default: the loop's default pool) until it answers.
        """
        lookup = functools.partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            infos = await asyncio.get_running_loop().run_in_executor(resolvers, lookup)
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
