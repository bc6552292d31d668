"""Sites' 12-hex Akismet keys: the shape the WordPress plugin accepts, wherever Akismet's key
goes, hashed, rotatable and shown by the CLI. Every test runs on both back ends."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from service.models import Site
from tests.conftest import Stack

pytestmark = pytest.mark.integration

BLOG = "https://blog.example"
HEX12 = re.compile(r"[0-9a-f]{12}")


def verify(app, form: dict[str, str], host: str = "rest.akismet.com") -> str:
    response = app.test_client().post(
        "/1.1/verify-key", data={"blog": BLOG, **form}, headers={"Host": host}
    )
    return response.text


def test_sites_create_prints_a_12_hex_akismet_key_that_works_wherever_akismet_s_goes(
    stack: Stack, app
) -> None:
    created = stack.cli_json("sites", "create", "blog", "--webhook-url", "http://127.0.0.1:9/h")
    key = created["akismet_key"]
    assert HEX12.fullmatch(key), key
    assert verify(app, {"key": key}) == "valid"
    assert verify(app, {"api_key": key}) == "valid"
    assert verify(app, {}, host=f"{key}.rest.akismet.com") == "valid"
    assert verify(app, {"key": key.upper()}) == "valid", "the plugin keeps hex of either case"
    assert verify(app, {"key": created["api_key"]}) == "valid", "the cg_ key keeps working"
    assert verify(app, {"key": key, "api_key": created["api_key"]}) == "valid"
    assert verify(app, {"key": "0123456789ab"}) == "invalid"
    checked = app.test_client().post(
        "/1.1/comment-check",
        data={"api_key": key, "blog": BLOG, "user_ip": "203.0.113.7", "comment_content": "Hi!"},
    )
    assert checked.text in ("true", "false") and checked.headers["X-akismet-guid"]
    with app.extensions["commentgate"].sessions() as session:
        site = session.scalar(select(Site).where(Site.name == "blog"))
        assert site.akismet_key_hash and key not in site.akismet_key_hash
        assert len(site.akismet_key_hash) == 64


@pytest.mark.parametrize(
    "stack", ["embedded"], indirect=True
)  # the CLI and the key check; no broker involved
def test_rotate_akismet_key_keeps_the_old_one_for_the_overlap_and_show_tells(
    stack: Stack, app
) -> None:
    first = stack.cli_json("sites", "create", "blog", "--webhook-url", "http://127.0.0.1:9/h")
    second = stack.cli_json("sites", "rotate-akismet-key", "blog")
    assert HEX12.fullmatch(second["akismet_key"]) and second["akismet_key"] != first["akismet_key"]
    assert second["previous_akismet_key_expires_at"]
    assert verify(app, {"key": second["akismet_key"]}) == "valid"
    assert verify(app, {"key": first["akismet_key"]}) == "valid", "within the overlap"
    third = stack.cli_json("sites", "rotate-akismet-key", "blog", "--overlap-hours", "0")
    assert verify(app, {"key": third["akismet_key"]}) == "valid"
    assert verify(app, {"key": second["akismet_key"]}) == "invalid"
    assert verify(app, {"key": first["akismet_key"]}) == "invalid"
    shown = stack.cli_json("sites", "show", "blog")
    assert shown["akismet_key"] == "set" and shown["name"] == "blog"
    assert third["akismet_key"] not in json.dumps(shown)
