"""Who may scrape: the bearer of ``COMMENTGATE_METRICS_TOKEN``, or, with no token set, a
client on this machine that reached the server directly (no proxy in between)."""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str


def refusal(
    token: str, authorization: str | None, peer: str | None, forwarded: bool
) -> Refusal | None:
    """None when the scrape may proceed; otherwise the status and message to answer with.

    A request that came through a proxy carries ``X-Forwarded-For`` or ``Forwarded``: its
    peer may be a proxy on this machine relaying the whole internet, so it never counts as
    local.
    """
    if token:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return Refusal(401, "Send 'Authorization: Bearer <COMMENTGATE_METRICS_TOKEN>'.")
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            return Refusal(403, "Invalid metrics token.")
        return None
    if forwarded or not is_loopback(peer):
        return Refusal(
            403,
            "Metrics are served to this machine only; set COMMENTGATE_METRICS_TOKEN to "
            "scrape them from elsewhere.",
        )
    return None


def is_loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").strip("[]"))
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))
