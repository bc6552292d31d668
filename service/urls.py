"""Outbound URL safety: webhooks go to public addresses unless loopback/private is allowed."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from service.errors import InvalidWebhookURLError


def validate_webhook_url(url: str, *, allow_private: bool, resolve: bool = True) -> str:
    """Accept only http(s) URLs whose host resolves to addresses we may call."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidWebhookURLError("Webhook URL must be an absolute http(s) URL.", {"url": url})
    if parts.username or parts.password:
        raise InvalidWebhookURLError("Webhook URL must not carry credentials.")
    if resolve:
        check_host_allowed(parts.hostname, parts.port, allow_private=allow_private)
    return url


def check_host_allowed(host: str, port: int | None, *, allow_private: bool) -> None:
    """Resolve ``host``; refuse loopback, private, link-local, reserved and metadata addresses."""
    if not allow_private:
        allowed_addresses(host, port, allow_private=False)


AddressInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]


def allowed_addresses(host: str, port: int | None, *, allow_private: bool) -> Sequence[AddressInfo]:
    """Resolve ``host`` once; its addresses (``getaddrinfo``'s answers) if every one of them may
    be called. Connecting to one of these, not to the name again, is what makes the check hold:
    a second lookup may answer differently (DNS rebinding)."""
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidWebhookURLError(f"Webhook host {host!r} does not resolve.") from exc
    if not allow_private:
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not is_public(address):
                raise InvalidWebhookURLError(
                    f"Webhook host {host!r} resolves to a non-public address.",
                    {"address": str(address)},
                )
    return infos


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries and routes to: mapped (::ffff:a.b.c.d), NAT64
    (64:ff9b::a.b.c.d), 6to4 (2002:wwxx:yyzz::) or the deprecated compatible form (::a.b.c.d)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a webhook may be sent to ``address``: a global unicast address, and for an IPv6
    form that embeds an IPv4 address, a global embedded one (Python calls NAT64, 6to4 and
    site-local addresses global whatever they lead to)."""
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address in _SITE_LOCAL:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    return True
