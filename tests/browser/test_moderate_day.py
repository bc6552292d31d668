"""A moderator's day on ``/moderate`` in real Chromium: what the marks point at, the text as the
site's readers saw it, whether the platform got a decision, the page on a phone, and errors that
must not lose work. One installation, server and browser serve the whole module.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from service import create_app
from service.db import session_scope
from service.models import Comment, Site, WebhookDelivery
from service.moderators import create_moderator
from service.sites import NewSite, create_site
from service.undo import UNDO_SECONDS
from tests.browser.support import chromium_path, launch, policy_reasons, store_held
from tests.conftest import Stack, _make_stack, serve, stop_process

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(chromium_path() is None, reason="Debian's chromium is not installed"),
]
TERMS_POLICY = {"blocked_terms": ["scumbag"], "suspect_terms": ["moron", "casino"]}
DISGUISED = "You s c u m b a g, what a m0ron. Best c4sino deals for you and their mods."
HOSTILE = (
    'he&#39;s right &lt;3 read <a href="https://news.example/story?a=1&amp;b=2">the story</a>, '
    'not <a href="javascript:window.__owned=1">this</a> '
    '<img src=x onerror="window.__owned=1"> <a href="https://x.example" onmouseover="evil()">x</a>'
)
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def day_stack(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[Stack]:
    """Retries 2 s apart, so a delivery that failed once is seen retrying, then sent."""
    home = tmp_path_factory.mktemp("moderate-day")
    stack = _make_stack("embedded", home, model_dir, {"COMMENTGATE_WEBHOOK_RETRY_SCHEDULE": "2,2"})
    yield stack
    stack.stop_workers()


@pytest.fixture(scope="module")
def sessions(day_stack: Stack) -> Iterator[Any]:
    app = create_app(day_stack.settings)
    yield app.extensions["commentgate"].sessions
    app.extensions["commentgate"].engine.dispose()


@pytest.fixture(scope="module")
def base(day_stack: Stack) -> Iterator[str]:
    process, url = serve(day_stack)
    yield url
    stop_process(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = launch(playwright)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def new_site(day_stack: Stack, sessions: Any) -> Callable[..., tuple[NewSite, str]]:
    """A site with a moderator; its token."""

    def make(webhook_url: str = "http://127.0.0.1:9/hook", **policy: Any) -> tuple[NewSite, str]:
        with session_scope(sessions) as session:
            site = create_site(
                session,
                f"site-{uuid.uuid4().hex[:8]}",
                webhook_url,
                allow_private=True,
                secret_key=day_stack.settings.secret_key,
            )
            session.get(Site, site.site.id).policy = policy
            token = create_moderator(session, site.site, "ana@example.org", "moderator").token
        return site, token

    return make


def hold(sessions: Any, site: NewSite, rows: list[dict[str, Any]]) -> list[str]:
    with session_scope(sessions) as session:
        return store_held(session, site.site.id, rows)


def numbered(sessions: Any, site: NewSite, prefix: str, count: int) -> list[str]:
    """``count`` held comments, oldest first: PREFIX-00, PREFIX-01, …"""
    rows = [
        {"external_id": f"{prefix}-{n:02}", "content": f"Comment {n}", "spam": 0.6}
        for n in range(count)
    ]
    return hold(sessions, site, rows)


def signed_in(browser: Any, base: str, token: str, **context: Any) -> Any:
    page = browser.new_context(**context).new_page()
    sign_in(page, base, token)
    return page


def sign_in(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/moderate")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector(".topbar .who, .empty, .queue", state="attached")


def test_marks_point_at_disguised_terms_and_text_reads_as_on_the_site(
    browser, base, sessions, new_site
) -> None:
    from playwright.sync_api import expect

    site, token = new_site(**TERMS_POLICY)
    model_terms = {"spam": ["you", "their", "deals", "mods"], "toxicity": []}
    reasons = policy_reasons(DISGUISED, TERMS_POLICY, {"spam": 0.9, "toxicity": 0.1}, model_terms)
    disguised_id, hostile_id = hold(
        sessions,
        site,
        [
            {"external_id": "d-1", "content": DISGUISED, "reasons": reasons, "spam": 0.9},
            {"external_id": "d-2", "content": HOSTILE, "spam": 0.6},
        ],
    )
    page = signed_in(browser, base, token)

    disguised = page.locator(f'.item[data-id="{disguised_id}"] .content')
    expect(disguised.locator("mark.rule")).to_have_text(["s c u m b a g", "m0ron", "c4sino"])
    model_marks = disguised.locator("mark.model").all_inner_texts()
    assert model_marks and set(model_marks) <= {"deals", "mods"}, model_marks
    assert page.locator("mark.rule").first.evaluate("e => getComputedStyle(e).backgroundColor") != (
        page.locator("mark.model").first.evaluate("e => getComputedStyle(e).backgroundColor")
    )

    hostile = page.locator(f'.item[data-id="{hostile_id}"] .content')
    expect(hostile).to_contain_text("he's right <3 read the story, not")
    expect(hostile).to_contain_text('<a href="javascript:window.__owned=1">this</a>')
    expect(hostile).to_contain_text('<img src=x onerror="window.__owned=1">')
    links = hostile.locator("a")
    expect(links).to_have_count(2)
    story = links.first
    expect(story).to_have_text("the story")
    expect(story).to_have_attribute("href", "https://news.example/story?a=1&b=2")
    expect(story).to_have_attribute("rel", "nofollow ugc noopener")
    assert links.nth(1).get_attribute("onmouseover") is None
    assert hostile.locator("img").count() == 0
    assert page.evaluate("window.__owned") is None
    page.context.close()


def test_undo_sends_nothing_and_a_decision_waits_for_the_window_then_retries_until_sent(
    browser, base, day_stack, sessions, new_site, start_receiver
) -> None:
    from playwright.sync_api import expect

    receiver = start_receiver("--fail-first", "1")
    site, token = new_site(receiver.url)
    rows = [{"external_id": n, "content": "Fine", "spam": 0.6} for n in ("u-1", "w-1")]
    undone_id, comment_id = hold(sessions, site, rows)
    day_stack.start_worker(concurrency=1)
    page = signed_in(browser, base, token)
    undone = page.locator(f'.item[data-id="{undone_id}"]')
    banner = page.locator("#deliveries-failing")
    expect(banner).to_be_hidden()

    page.keyboard.press("r")
    expect(undone.locator(".badge")).to_have_text("Rejected")
    expect(undone.locator(".delivery")).to_have_text("Held for undo")
    expect(page.locator("#toast .toast-action")).to_have_text("Undo (z)")
    page.keyboard.press("z")
    expect(page.locator("#toast")).to_contain_text("the site was sent nothing")
    expect(undone.locator(".badge")).to_have_text("Held")
    expect(undone.locator(".by")).to_have_text("by model")
    with session_scope(sessions) as session:
        comment = session.get(Comment, undone_id)
        assert comment.status == "held" and comment.decided_by == "model"
        assert [d.decided_by for d in comment.decisions] == ["model"]
        assert not session.scalars(select(WebhookDelivery).filter_by(comment_id=undone_id)).all()
    page.keyboard.press("d")  # WordPress's key rejects too
    expect(undone.locator(".badge")).to_have_text("Rejected")
    page.keyboard.press("z")
    expect(undone.locator(".badge")).to_have_text("Held")

    page.keyboard.press("j")
    item = page.locator(f'.item[data-id="{comment_id}"]')
    decided_at = time.time()
    page.keyboard.press("a")
    expect(item.locator(".badge")).to_have_text("Approved")
    expect(item.locator(".by")).to_have_text("by ana@example.org")
    expect(item.locator(".reason").first).to_contain_text("A moderator chose to approve")
    delivery = item.locator(".delivery")
    expect(delivery).to_have_text("Held for undo")
    expect(delivery).to_have_text("Retrying", timeout=25_000)
    expect(banner).to_be_visible()
    expect(delivery).to_have_text("Sent", timeout=20_000)
    expect(banner).to_be_hidden()
    attempts = receiver.requests()
    assert [r["status"] for r in attempts] == [503, 200]
    assert {json.loads(r["body"])["data"]["comment_id"] for r in attempts} == {comment_id}
    assert attempts[0]["received_at"] - decided_at >= UNDO_SECONDS - 0.5

    page.goto(f"{base}/moderate?status=approved")
    expect(item.locator(".delivery")).to_have_text("Sent")
    expect(item.locator(".by")).to_have_text("by ana@example.org")
    page.keyboard.press("u")  # WordPress's unapprove: back to the held queue
    expect(page.locator("#toast")).to_contain_text(f"Held: #{rows[1]['external_id']}")
    with session_scope(sessions) as session:
        comment = session.get(Comment, comment_id)
        assert (comment.status, comment.action, comment.decided_by) == ("held", "hold", "moderator")
    page.context.close()


def test_a_poll_answered_before_an_undo_does_not_paint_the_undone_decision_back(
    browser, base, day_stack, sessions, new_site, start_receiver
) -> None:
    """The page polls for state every second or so. A poll the server answered while the
    comment was still rejected, arriving after the undo, leaves the card held."""
    from playwright.sync_api import expect

    site, token = new_site(start_receiver().url)
    (comment_id,) = hold(sessions, site, [{"external_id": "p-1", "content": "Fine", "spam": 0.6}])
    page = signed_in(browser, base, token)
    card = page.locator(f'.item[data-id="{comment_id}"]')
    page.keyboard.press("r")
    expect(card.locator(".badge")).to_have_text("Rejected")

    answered: list[Any] = []  # the next poll: answered by the server now, read by the page later

    def hold_back_the_first(route: Any) -> None:
        if answered:
            route.continue_()
        else:
            answered.append((route, route.fetch()))

    page.route("**/moderate/state*", hold_back_the_first)
    for _ in range(100):
        if answered:
            break
        page.wait_for_timeout(100)
    route, response = answered[0]
    assert '"rejected"' in response.text()

    page.keyboard.press("z")
    expect(page.locator("#toast")).to_contain_text("the site was sent nothing")
    expect(card.locator(".badge")).to_have_text("Held")
    with page.expect_request("**/moderate/state*"):  # the page asks again once it has read it
        route.fulfill(response=response)
    assert (card.locator(".badge").text_content() or "").strip() == "Held"
    expect(card.locator(".badge")).to_have_text("Held")
    page.context.close()


def test_on_a_phone_everything_is_reachable_big_enough_and_accessible(
    browser, base, sessions, new_site, tmp_path: Path
) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect

    site, token = new_site()
    long_one = {
        "author": "Maximilian Longname-Example",
        "content": "A long unbroken address https://example.org/" + "x" * 120,
        "post_title": "Why the 2003 invasion still shapes Iraq",
        "post_url": "https://blog.example/iraq",
        "spam": 0.7,
        "terms": {"spam": ["address"]},
    }
    hold(sessions, site, [{"external_id": f"p-{n}", **long_one} for n in range(3)])
    page = signed_in(
        browser, base, token, viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=1
    )
    expect(page.locator("h1")).to_have_text("Held comments")

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    controls = page.locator("button:visible, a:visible, input:visible, select:visible")
    boxes = controls.evaluate_all(
        """els => els.map(e => {
            const r = e.getBoundingClientRect();
            const target = e.matches('input[type=checkbox]') ? e.closest('label') : e;
            const t = target.getBoundingClientRect();
            return {name: e.getAttribute('aria-label') || e.textContent.trim(), left: r.left,
                    right: r.right, width: t.width, height: t.height,
                    inline: !!e.closest('.content')};
        })"""
    )
    assert boxes
    outside = [b for b in boxes if b["left"] < 0 or b["right"] > PHONE["width"]]
    small = [b for b in boxes if not b["inline"] and min(b["width"], b["height"]) < 44]
    assert not outside and not small, (outside, small)
    page.evaluate("window.scrollTo({top: 0, behavior: 'instant'})")
    page.wait_for_timeout(600)  # a smooth scroll from the first card's focus may still run
    page.evaluate("window.scrollTo({top: 0, behavior: 'instant'})")
    # Into the test's own folder (the checkout's docs/moderate-390.png is a copy of one); a
    # full-page shot would drop the touch emulation.
    page.screenshot(path=str(tmp_path / "moderate-390.png"))
    expect(page.get_by_role("button", name="Sign out")).to_be_in_viewport(ratio=1)
    expect(page.locator(".tab", has_text="Rejected")).to_be_in_viewport(ratio=1)
    assert page.locator("kbd").first.evaluate("e => getComputedStyle(e).display") == "none"
    approve = page.get_by_role("button", name=re.compile(r"^Approve comment by Maximilian"))
    expect(approve).to_have_count(3)

    serious = [
        v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert not serious, [(v["id"], [n["target"] for n in v["nodes"]]) for v in serious]
    page.context.close()

    desk = signed_in(browser, base, token, viewport={"width": 1366, "height": 900})
    desk.mouse.move(0, 899)  # off every control: a hover's colour transition is not the page's
    for scheme in ("light", "dark"):
        desk.emulate_media(color_scheme=scheme, reduced_motion="reduce")  # no fades mid-run
        found = Axe().run(desk).response["violations"]
        bad = [v for v in found if v["impact"] in ("serious", "critical")]
        assert not bad, (scheme, [(v["id"], [n["target"] for n in v["nodes"]]) for v in bad])
    desk.context.close()


def test_signed_out_keeps_the_selection_and_a_checkbox_click_keeps_shortcuts(
    browser, base, sessions, new_site
) -> None:
    from playwright.sync_api import expect

    site, token = new_site()
    ids = numbered(sessions, site, "s", 3)
    page = signed_in(browser, base, token)
    items = [page.locator(f'.item[data-id="{i}"]') for i in ids]
    items[1].locator('input[name="ids"]').click()
    expect(page.locator("#selected-count")).to_have_text("1 selected")
    page.keyboard.press("j")
    expect(items[2]).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("x")
    expect(page.locator("#selected-count")).to_have_text("2 selected")

    page.context.clear_cookies()
    page.keyboard.press("Shift+A")
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#signed-out")).to_contain_text("You are signed out")
    expect(page.locator("#toast")).to_contain_text("You are signed out")

    sign_in(page, base, token)
    for index, checked in ((0, False), (1, True), (2, True)):
        expect(items[index].locator('input[name="ids"]')).to_be_checked(checked=checked)
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.keyboard.press("Shift+A")
    expect(page.locator("#toast")).to_contain_text("Approved 2 comments")
    for index, status in ((0, "Held"), (1, "Approved"), (2, "Approved")):
        expect(items[index].locator(".badge")).to_have_text(status)
    expect(page.locator("#selected-count")).to_have_text("0 selected")
    expect(page.locator('.tab[data-status="held"] .count')).to_have_text("1")

    page.keyboard.press("z")
    expect(page.locator("#toast")).to_contain_text("Undone: 2 comments are held again")
    for item in items:
        expect(item.locator(".badge")).to_have_text("Held")
    expect(page.locator('.tab[data-status="held"] .count')).to_have_text("3")
    with session_scope(sessions) as session:
        assert {session.get(Comment, i).status for i in ids} == {"held"}
        assert not session.scalars(
            select(WebhookDelivery).filter(WebhookDelivery.comment_id.in_(ids))
        ).all()

    [arrived] = hold(sessions, site, [{"external_id": "s-new", "content": "Hi", "minutes_ago": 0}])
    expect(page.locator(f'.item[data-id="{arrived}"]')).to_be_visible()  # flows in, no reload
    expect(page.locator('.tab[data-status="held"] .count')).to_have_text("4")
    page.context.close()


def test_the_queue_flows_past_the_old_page_end_and_drops_what_a_colleague_decided(
    browser, base, sessions, new_site
) -> None:
    from playwright.sync_api import expect

    site, token = new_site()
    ids = numbered(sessions, site, "q", 28)
    with session_scope(sessions) as session:
        ben = create_moderator(session, site.site, "ben@example.org", "moderator").token
    page = signed_in(browser, base, token)
    held_count = page.locator('.tab[data-status="held"] .count')
    expect(page.locator(".item")).to_have_count(25)
    expect(held_count).to_have_text("28")

    decided = requests.post(
        f"{base}/v1/moderation/comments/{ids[1]}/decision",
        json={"action": "reject"},
        headers={"Authorization": f"Bearer {ben}"},
        timeout=10,
    )
    assert decided.status_code == 200, decided.text
    expect(page.locator(f'.item[data-id="{ids[1]}"]')).to_have_count(0)
    expect(held_count).to_have_text("27")
    expect(page.locator("#toast")).to_contain_text("decided by colleagues left the queue")

    for _ in range(30):
        page.keyboard.press("j")
    expect(page.locator(".item.current")).to_have_attribute("data-id", ids[-1])
    expect(page.locator(".item")).to_have_count(27)
    expect(page.locator(".pager")).to_have_count(0)
    page.keyboard.press("a")
    expect(page.locator(".item.current .badge")).to_have_text("Approved")
    expect(held_count).to_have_text("26")

    page.goto(f"{base}/moderate?sort=newest&q=Comment")
    expect(page.locator(".item.current .tick.hold")).to_have_count(2)  # the site's thresholds
    page.get_by_role("button", name="Compact view").click()
    expect(page.locator("body")).to_have_class(re.compile(r"\bcompact\b"))
    page.keyboard.press("o")
    expect(page.locator("h1")).to_have_text("Comment #q-26")  # q-27 was approved above
    page.get_by_role("link", name="Next comment →").click()
    expect(page.locator("h1")).to_have_text("Comment #q-25")
    page.get_by_role("link", name="← Queue").click()
    assert page.url.endswith("/moderate?sort=newest&q=Comment")
    expect(page.locator("body")).to_have_class(re.compile(r"\bcompact\b"))  # kept

    page.get_by_label("Select all", exact=True).check()
    page.get_by_role("button", name="Select all 26 matching").click()
    expect(page.locator("#selected-count")).to_have_text("26 selected")
    page.keyboard.press("Shift+R")
    expect(page.locator("#toast")).to_contain_text("Rejected 26 comments matching.")
    expect(held_count).to_have_text("0")
    page.context.close()


def test_new_comments_flow_into_a_filtered_queue_and_others_stay_out(
    browser, base, sessions, new_site
) -> None:
    from playwright.sync_api import expect

    site, token = new_site()
    hold(sessions, site, [{"external_id": "zed-1", "content": "First", "author": "Zed"}])
    hold(sessions, site, [{"external_id": "amy-1", "content": "Other", "author": "Amy"}])
    page = signed_in(browser, base, token)
    page.goto(f"{base}/moderate?author=Zed")
    cards = page.locator(".item")
    expect(cards).to_have_count(1)

    hold(sessions, site, [{"external_id": "amy-2", "content": "Later", "author": "Amy"}])
    hold(
        sessions,
        site,
        [{"external_id": "zed-2", "content": "Second", "author": "Zed", "minutes_ago": 0}],
    )
    expect(cards).to_have_count(2, timeout=10_000)
    expect(cards.nth(1)).to_contain_text("Second")
    page.wait_for_timeout(4_000)  # another poll or more: Amy's comments never join
    expect(cards).to_have_count(2)
    assert "Later" not in page.locator("#queue").inner_text()
    page.context.close()
