"""Outbound URL safety: webhooks go to public addresses unless loopback/private is allowed."""

from __future__ import annotations

import ipaddress
import socket
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
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidWebhookURLError(f"Webhook host {host!r} does not resolve.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise InvalidWebhookURLError(
                f"Webhook host {host!r} resolves to a non-public address.",
                {"address": str(address)},
            )
