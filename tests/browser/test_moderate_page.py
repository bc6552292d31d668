"""The moderator page in real headless Chromium, against gunicorn, a Celery worker and a receiver.

A comment goes through the whole pipeline (the site's policy holds everything), the moderator
signs in with a token, sees it with its reasons, approves it with the keyboard, and the platform's
receiver gets the moderator's signed ``comment.decided`` event.
"""

from __future__ import annotations

import json
import re

import pytest
import requests
from sqlalchemy import select
from standardwebhooks import Webhook

from service.db import session_scope
from service.models import Comment, LabeledExample, Site
from service.moderators import create_moderator
from tests.browser.support import chromium_path, launch
from tests.conftest import auth, wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(chromium_path() is None, reason="Debian's chromium is not installed"),
]
EVERYTHING_HELD = {"approve_below": 0.0, "reject_at": 1.01}
HOLD_EVERYTHING = {"thresholds": {"spam": EVERYTHING_HELD, "toxicity": EVERYTHING_HELD}}
SCRIPT = "<script>window.__owned = 1</script> nice post"


def submit(base: str, site, external_id: str, content: str) -> str:
    response = requests.post(
        f"{base}/v1/comments",
        json={
            "external_id": external_id,
            "content": content,
            "post": {"id": "17", "url": "https://blog.example/iraq", "title": "On Iraq"},
            "author": {"name": "Max", "email": "max@example.org", "ip": "203.0.113.7"},
        },
        headers=auth(site),
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_sign_in_see_reasons_approve_with_keyboard_and_platform_gets_event(
    app, stack, live_server, worker, webhook_receiver, make_site
) -> None:
    from playwright.sync_api import expect, sync_playwright

    site = make_site(webhook_receiver.url)
    sessions = app.extensions["commentgate"].sessions
    with session_scope(sessions) as session:
        session.get(Site, site.site.id).policy = HOLD_EVERYTHING
        token = create_moderator(session, site.site, "ana@example.org", "moderator").token

    held_id = submit(live_server, site, "wp-1", "Buy cheap pills now at http://pills.example")
    script_id = submit(live_server, site, "wp-2", SCRIPT)
    for comment_id in (held_id, script_id):
        [hold] = wait_for(lambda cid=comment_id: webhook_receiver.events_for(cid), timeout=30)
        assert json.loads(hold["body"])["data"]["action"] == "hold"

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        response = page.goto(f"{live_server}/moderate")
        assert response.status == 200
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        page.fill("#token", token)
        page.click("button[type=submit]")

        held = page.locator(f'.item[data-id="{held_id}"]')
        expect(held).to_be_visible()
        expect(held.locator(".content")).to_contain_text("Buy cheap pills")
        expect(held.locator(".reason").first).to_contain_text("score")
        expect(held.locator(".badge")).to_have_text("Held")

        shown = page.locator(f'.item[data-id="{script_id}"] .content')
        expect(shown).to_contain_text("<script>window.__owned = 1</script>")
        assert shown.locator("script").count() == 0
        assert page.evaluate("window.__owned") is None

        expect(held).to_have_class(re.compile(r"\bcurrent\b"))
        page.keyboard.press("j")
        page.keyboard.press("k")
        page.keyboard.press("a")
        expect(held.locator(".badge")).to_have_text("Approved")
        expect(page.locator("#toast")).to_contain_text("wp-1")
        page.keyboard.press("?")
        expect(page.locator("#help")).to_be_visible()
        browser.close()

    def moderator_event():
        events = [json.loads(e["body"]) for e in webhook_receiver.events_for(held_id)]
        return [e for e in events if e["data"]["decided_by"] == "moderator"]

    [event] = wait_for(moderator_event, timeout=30)
    assert event["type"] == "comment.decided"
    assert event["data"]["action"] == "approve"
    assert event["data"]["external_id"] == "wp-1"
    raw = next(
        e
        for e in webhook_receiver.events_for(held_id)
        if json.loads(e["body"])["data"]["decided_by"] == "moderator"
    )
    Webhook(site.site.webhook_secret).verify(raw["body"], raw["headers"])
    with session_scope(sessions) as session:
        labels = session.scalars(
            select(LabeledExample).where(LabeledExample.comment_id == held_id)
        ).all()
        assert {(label.task, label.label) for label in labels} == {("spam", 0), ("toxicity", 0)}


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_a_stale_decision_shows_the_colleagues_and_overrides_only_when_pressed_again(
    app, stack, live_server, make_site
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.browser.support import store_held

    site = make_site()
    sessions = app.extensions["commentgate"].sessions
    with session_scope(sessions) as session:
        ana = create_moderator(session, site.site, "ana@example.org", "moderator").token
        ben = create_moderator(session, site.site, "ben@example.org", "moderator").token
        [comment_id] = store_held(
            session, site.site.id, [{"external_id": "st-1", "content": "Is this spam or not?"}]
        )

    def status() -> str:
        with session_scope(sessions) as session:
            return session.get(Comment, comment_id).status

    with sync_playwright() as playwright:
        browser = launch(playwright)
        pages = []
        for token in (ana, ben):
            page = browser.new_context().new_page()
            page.goto(f"{live_server}/moderate")
            page.fill("#token", token)
            page.click("button[type=submit]")
            expect(page.locator(f'.item[data-id="{comment_id}"]')).to_be_visible()
            pages.append(page)
        first, second = pages
        first.keyboard.press("a")
        item = first.locator(f'.item[data-id="{comment_id}"]')
        expect(item.locator(".badge")).to_have_text("Approved")

        stale = second.locator(f'.item[data-id="{comment_id}"]')
        expect(stale.locator(".badge")).to_have_text("Held")
        second.keyboard.press("r")
        expect(second.locator("#toast")).to_contain_text("already approved by ana@example.org")
        expect(stale.locator(".badge")).to_have_text("Approved")
        assert status() == "approved"

        second.keyboard.press("r")
        expect(stale.locator(".badge")).to_have_text("Rejected")
        browser.close()
    assert status() == "rejected"
