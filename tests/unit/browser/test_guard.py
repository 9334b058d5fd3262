"""The SSRF guard: address classes (IPv6 and embedded IPv4 forms included), URLs, resolution.

`resolve` is called with numeric hosts only: the system resolver parses them locally (the
decimal, octal and hex spellings are what inet_aton accepts), with no network involved.
"""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from harmony_agent.tools.browser import GuardConfig
from harmony_agent.tools.browser._errors import Blocked
from harmony_agent.tools.browser._guard import AddressClass, Guard, classify_address


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", AddressClass.PUBLIC),
        ("2606:4700:4700::1111", AddressClass.PUBLIC),
        ("127.0.0.1", AddressClass.LOOPBACK),
        ("127.255.0.9", AddressClass.LOOPBACK),
        ("::1", AddressClass.LOOPBACK),
        ("::ffff:127.0.0.1", AddressClass.LOOPBACK),  # IPv4-mapped
        ("::127.0.0.1", AddressClass.LOOPBACK),  # IPv4-compatible
        ("0.0.0.0", AddressClass.UNSPECIFIED),
        ("::", AddressClass.UNSPECIFIED),
        ("10.1.2.3", AddressClass.PRIVATE),
        ("172.16.0.1", AddressClass.PRIVATE),
        ("192.168.1.1", AddressClass.PRIVATE),
        ("100.64.0.1", AddressClass.PRIVATE),  # carrier-grade NAT
        ("fd12:3456::1", AddressClass.PRIVATE),  # unique local
        ("::ffff:10.0.0.1", AddressClass.PRIVATE),
        ("2002:c0a8:0101::1", AddressClass.PRIVATE),  # 6to4 wrapping 192.168.1.1
        ("64:ff9b::10.0.0.1", AddressClass.PRIVATE),  # NAT64 wrapping 10.0.0.1
        ("169.254.1.1", AddressClass.LINK_LOCAL),
        ("fe80::1", AddressClass.LINK_LOCAL),
        ("169.254.169.254", AddressClass.METADATA),
        ("::ffff:169.254.169.254", AddressClass.METADATA),
        ("64:ff9b::169.254.169.254", AddressClass.METADATA),
        ("fd00:ec2::254", AddressClass.METADATA),
        ("100.100.100.200", AddressClass.METADATA),
        ("224.0.0.1", AddressClass.MULTICAST),
        ("ff02::1", AddressClass.MULTICAST),
        ("240.0.0.1", AddressClass.RESERVED),
        ("255.255.255.255", AddressClass.RESERVED),
        # Not globally routable, whatever the Python version's lists say.
        ("fec0::1", AddressClass.PRIVATE),  # site-local (deprecated), global to Python 3.11
        ("feff:ffff::1", AddressClass.PRIVATE),  # the end of fec0::/10
        ("::ffff:0:7f00:1", AddressClass.RESERVED),  # IPv4-translated (SIIT) 127.0.0.1
        ("64:ff9b:1::a00:1", AddressClass.PRIVATE),  # local-use NAT64 prefix
        ("5f00::1", AddressClass.RESERVED),  # segment routing SIDs
        ("4000::1", AddressClass.RESERVED),  # outside the global unicast space 2000::/3
        ("2001:db8::1", AddressClass.PRIVATE),  # documentation
        ("2002:7f00:1::1", AddressClass.LOOPBACK),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::808:808", AddressClass.PUBLIC),  # NAT64 of 8.8.8.8 (IPv6-only networks)
        ("2002:808:808::1", AddressClass.PUBLIC),  # 6to4 of 8.8.8.8
    ],
)
def test_classify_address(address: str, kind: AddressClass) -> None:
    assert classify_address(ipaddress.ip_address(address)) is kind


def test_teredo_is_judged_by_its_client_address() -> None:
    # Teredo: server 65.54.227.120, client 192.168.0.1 (stored inverted in the last 32 bits).
    teredo = ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:3f57:fffe")
    assert teredo.teredo is not None and teredo.teredo[1] == ipaddress.IPv4Address("192.168.0.1")
    assert classify_address(teredo) is AddressClass.PRIVATE


def test_tunnelled_addresses_are_judged_on_both_addresses() -> None:
    # Teredo with the public client 8.8.8.8: the IPv6 address itself is not global.
    public_client = ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:f7f7:f7f7")
    assert public_client.teredo is not None
    assert public_client.teredo[1] == ipaddress.IPv4Address("8.8.8.8")
    assert classify_address(public_client) is AddressClass.PRIVATE
    # Teredo with the client 127.0.0.1: allowing private networks does not allow it.
    loopback_client = ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:80ff:fffe")
    intranet = Guard(GuardConfig(allow_private_networks=True))
    assert intranet.refusal(loopback_client) is AddressClass.LOOPBACK
    assert Guard(GuardConfig(allow_localhost=True)).refusal(loopback_client) is (
        AddressClass.PRIVATE
    )


def test_opt_ins() -> None:
    loopback, private = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.0.0.1")
    metadata = ipaddress.ip_address("169.254.169.254")
    default = Guard(GuardConfig())
    assert default.refusal(loopback) is AddressClass.LOOPBACK
    assert default.refusal(private) is AddressClass.PRIVATE
    assert default.refusal(ipaddress.ip_address("93.184.215.14")) is None
    local = Guard(GuardConfig(allow_localhost=True))
    assert local.refusal(loopback) is None
    assert local.refusal(ipaddress.ip_address("::ffff:127.0.0.1")) is None
    assert local.refusal(private) is AddressClass.PRIVATE
    intranet = Guard(GuardConfig(allow_private_networks=True))
    assert intranet.refusal(private) is None
    assert intranet.refusal(loopback) is AddressClass.LOOPBACK
    everything = Guard(GuardConfig(allow_localhost=True, allow_private_networks=True))
    assert everything.refusal(metadata) is AddressClass.METADATA
    assert everything.refusal(ipaddress.ip_address("fe80::1")) is AddressClass.LINK_LOCAL


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "0x7f.1",
        "::1",
        "::ffff:7f00:1",
    ],
)
async def test_resolve_refuses_every_spelling_of_loopback(host: str) -> None:
    with pytest.raises(Blocked, match="a loopback address"):
        await Guard(GuardConfig()).resolve(host, 80)


@pytest.mark.parametrize("host", ["fec0::1", "fec0::a9fe:a9fe", "feff::1"])
async def test_resolve_refuses_site_local_ipv6(host: str) -> None:
    with pytest.raises(Blocked, match="a private address, which the browser may not access"):
        await Guard(GuardConfig()).resolve(host, 80)
    assert await Guard(GuardConfig(allow_private_networks=True)).resolve(host, 80) == [host]


@pytest.mark.parametrize("host", ["2852039166", "0xa9fea9fe", "0251.0376.0251.0376"])
async def test_resolve_refuses_metadata_in_any_spelling(host: str) -> None:
    guard = Guard(GuardConfig(allow_localhost=True, allow_private_networks=True))
    with pytest.raises(Blocked, match=r"169\.254\.169\.254, a cloud metadata address"):
        await guard.resolve(host, 80)


async def test_resolve_returns_allowed_addresses() -> None:
    assert await Guard(GuardConfig(allow_localhost=True)).resolve("127.0.0.1", 80) == ["127.0.0.1"]
    assert await Guard(GuardConfig()).resolve("93.184.215.14", 443) == ["93.184.215.14"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/x", "the `ftp:` scheme is not allowed"),
        ("file:///etc/passwd", "the `file:` scheme is not allowed"),
        ("gopher://example.org/", "the `gopher:` scheme is not allowed"),
        ("http://evil.test/", "the domain `evil.test` is blocked"),
        ("https://api.EVIL.test./x", "the domain `api.evil.test` is blocked"),
        ("https://other.org/", "the domain `other.org` is not among the allowed domains"),
        ("https://notexample.org/", "not among the allowed domains"),
    ],
)
def test_check_url(url: str, reason: str) -> None:
    guard = Guard(
        GuardConfig(allowed_domains=("example.org", "evil.test"), denied_domains=("evil.test",))
    )
    with pytest.raises(Blocked, match=reason):
        guard.check_url(httpx.URL(url))


def test_check_url_accepts_allowed_domains_and_subdomains() -> None:
    guard = Guard(GuardConfig(allowed_domains=("example.org",)))
    guard.check_url(httpx.URL("https://example.org/a"))
    guard.check_url(httpx.URL("https://docs.Example.org/a"))
    Guard(GuardConfig()).check_url(httpx.URL("http://anything.test/"))
