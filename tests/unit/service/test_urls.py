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
