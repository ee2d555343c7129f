"""Which network addresses a fetch may connect to: the public internet, plus networks a setting allows.

A URL names a host; DNS turns it into addresses, and DNS can point anywhere: at the machine itself, at the
private network a pod or instance lives in, or at the cloud metadata service that hands out credentials
(``169.254.169.254``). So the *resolved* address is what is judged, every time a connection is made, and
the connection is made to exactly the address that was judged (see :mod:`pin_assets.core.net.fetch`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata services: named apart from the ranges they sit in, since they are what an attacker wants.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"): "cloud metadata service (AWS, GCP, Azure, OpenStack)",
    ipaddress.ip_address("169.254.170.2"): "container metadata service (AWS ECS)",
    ipaddress.ip_address("fd00:ec2::254"): "cloud metadata service (AWS, IPv6)",
    ipaddress.ip_address("100.100.100.200"): "cloud metadata service (Alibaba Cloud)",
}


def parse_networks(text: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """Networks from ``"127.0.0.1/32, 10.0.0.0/8"`` (or a list of such strings); a bare address is a /32 or /128.

    Raises ValueError naming the entry that is not an address or network.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    networks: list[IPNetwork] = []
    for item in items:
        entry = item.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not an IP address or network (CIDR): {exc}") from None
    return tuple(networks)


def _unmapped(address: IPAddress) -> IPAddress:
    """``::ffff:127.0.0.1`` and other IPv6 forms that carry an IPv4 address are judged as that address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return embedded
        if address.teredo is not None:
            return address.teredo[1]
    return address


def refusal(address: IPAddress | str, allowed: Iterable[IPNetwork] = ()) -> str | None:
    """Why a connection to ``address`` is refused (``"loopback address 127.0.0.1"``), or None if it may go.

    Loopback, private, link-local, multicast, reserved, unspecified, shared (carrier NAT), documentation
    and metadata addresses are refused: everything Python's ``ipaddress`` does not call global. An address
    inside one of the ``allowed`` networks is always accepted (tests serving from 127.0.0.1, an intranet
    document host a deployment trusts).
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    inner = _unmapped(ip)
    shown = f"{ip} ({inner})" if inner != ip else str(ip)
    if any(candidate in network for network in allowed for candidate in {ip, inner}
           if candidate.version == network.version):
        return None
    for candidate in (ip, inner):
        if candidate in METADATA_ADDRESSES:
            return f"{METADATA_ADDRESSES[candidate]} address {shown}"
    checks = (
        ("is_unspecified", "unspecified"), ("is_loopback", "loopback"), ("is_link_local", "link-local"),
        ("is_multicast", "multicast"), ("is_private", "private"), ("is_reserved", "reserved"),
    )
    for attribute, what in checks:
        if getattr(inner, attribute) or getattr(ip, attribute):
            return f"{what} address {shown}"
    if not inner.is_global or not ip.is_global:
        return f"non-public address {shown}"
    return None
