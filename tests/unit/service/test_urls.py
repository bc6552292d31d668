"""Webhook URLs: public http(s) only, unless private addresses are explicitly allowed."""

from __future__ import annotations

import pytest

from service.errors import InvalidWebhookURLError
from service.urls import validate_webhook_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://192.168.1.1/",
        "ftp://example.org/hook",
        "not a url",
        "http://user:pw@127.0.0.1/",
    ],
)
def test_private_and_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidWebhookURLError):
        validate_webhook_url(url, allow_private=False)


def test_loopback_is_allowed_when_configured() -> None:
    assert validate_webhook_url("http://127.0.0.1:9/h", allow_private=True)


def test_public_literal_address_is_accepted() -> None:
    assert validate_webhook_url("https://93.184.215.14/hook", allow_private=False)


@pytest.mark.parametrize(
    "host",
    [
        "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
        "[64:ff9b::a00:5]",  # NAT64 of 10.0.0.5
        "[2002:7f00:1::1]",  # 6to4 of 127.0.0.1
        "[2002:a9fe:a9fe::1]",  # 6to4 of 169.254.169.254
        "[::127.0.0.1]",  # IPv4-compatible
        "[::ffff:10.0.0.5]",  # IPv4-mapped
        "[fec0::1]",  # site-local
    ],
)
def test_ipv6_forms_of_private_ipv4_addresses_are_refused(host: str) -> None:
    with pytest.raises(InvalidWebhookURLError, match="non-public"):
        validate_webhook_url(f"http://{host}/hook", allow_private=False)


@pytest.mark.parametrize(
    "host", ["[64:ff9b::808:808]", "[2002:808:808::1]", "[2001:4860:4860::8888]"]
)
def test_ipv6_forms_of_public_addresses_are_accepted(host: str) -> None:
    assert validate_webhook_url(f"http://{host}/hook", allow_private=False)
