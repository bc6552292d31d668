# ruff: noqa: F811 - the test takes the module fixtures imported from test_moderate_day
"""The author panel on ``/moderate`` in real Chromium at phone width: the moderator bans an
author from a queue card, the author posts again through the API, and the real worker's decision
carries the author's standing."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.browser.support import chromium_path
from tests.browser.test_moderate_day import (  # noqa: F401 - module fixtures shared
    PHONE,
    base,
    browser,
    day_stack,
    new_site,
    sessions,
    signed_in,
)
from tests.conftest import auth, wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(chromium_path() is None, reason="Debian's chromium is not installed"),
]
# any spam score holds and none rejects: only the author's standing rejects
HOLD_ALL = {
    "spam": {"approve_below": 0.0, "reject_at": 1.0},
    "toxicity": {"approve_below": 1.0, "reject_at": 1.0},
}
ANN = {"name": "Ann Example", "email": "ann@example.org", "ip": "203.0.113.7"}


def post_comment(root: str, site: Any, external_id: str) -> dict[str, Any]:
    """The platform sends the author's comment; returned once the worker decided it."""
    body = {"external_id": external_id, "content": "Me again, same as ever.", "author": ANN}
    created = requests.post(f"{root}/v1/comments", json=body, headers=auth(site), timeout=10)
    assert created.status_code == 202, created.text
    url = f"{root}/v1/comments/{created.json()['id']}"

    def decided() -> dict[str, Any] | None:
        got = requests.get(url, headers=auth(site), timeout=10).json()
        return got if got["status"] != "pending" else None

    return wait_for(decided, timeout=20)


def test_a_ban_in_the_author_panel_decides_the_authors_next_comment(
    browser,
    base,
    day_stack,
    new_site,
) -> None:
    from playwright.sync_api import expect

    site, token = new_site(thresholds=HOLD_ALL)
    day_stack.start_worker(concurrency=1)
    first = post_comment(base, site, "ann-1")
    assert first["status"] == "held"
    page = signed_in(browser, base, token, viewport=PHONE)
    card = page.locator(f'.item[data-id="{first["id"]}"]')

    card.get_by_text("Author: Ann Example").click()
    panel = card.locator(".author-body")
    expect(panel.locator("[data-standing]")).to_have_text("None")
    expect(panel).to_contain_text("Known by e-mail")
    ban = panel.get_by_role("button", name="Ban Ann Example")
    box = ban.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert box["height"] >= 44, box
    ban.click()
    expect(page.locator(".flash")).to_have_text("Banned: Ann Example.")

    second = post_comment(base, site, "ann-2")
    assert second["status"] == "rejected"
    banned = [r for r in second["decision"]["reasons"] if r["code"] == "author_banned"]
    assert banned and banned[0]["action"] == "reject", second["decision"]["reasons"]

    page.goto(f"{base}/moderate?status=rejected")
    rejected = page.locator(f'.item[data-id="{second["id"]}"]')
    expect(rejected.locator(".reason.author_banned .chip")).to_have_text("Author banned")
    rejected.get_by_text("Author: Ann Example").click()
    expect(rejected.locator("[data-standing]")).to_have_text("Banned")
    expect(rejected.locator(".author-history li")).to_have_count(1)  # the first comment
    page.context.close()
