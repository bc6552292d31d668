"""Webhooks that survive a long outage, through real workers (both lanes), real receivers and the
real command line; each test on one back end, the two back ends sharing them out.

The retry schedules here are Standard Webhooks' (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h)
compressed a hundredfold, so a ten-minute outage lasts six seconds.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from service.db import session_scope
from service.models import Site, WebhookAttempt, WebhookDelivery
from tests.conftest import REPO, Receiver, Stack, auth, free_port, wait_for
from tests.support.stored import moderator_token, sessions_of

pytestmark = pytest.mark.integration

COMPRESSED = "0.05s,3s,18s,72s,180s,360s,360s"  # Standard Webhooks' schedule / 100
OUTAGE = 6.0  # ten minutes / 100


def cli(stack: Stack, *args: str, as_json: bool = True) -> Any:
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", *args, *(["--json"] if as_json else [])],
        cwd=REPO,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if as_json else result.stdout + result.stderr


def post(client, site, external_id: str) -> str:
    body = {"external_id": external_id, "content": f"Thanks for the post ({external_id})."}
    response = client.post("/v1/comments", json=body, headers=auth(site))
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def comment_ids(receiver: Receiver) -> list[str]:
    return [json.loads(r["body"])["data"]["comment_id"] for r in receiver.delivered()]


def deliveries(app, site) -> list[WebhookDelivery]:
    with session_scope(app.extensions["commentgate"].sessions) as session:
        rows = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.site_id == site.site.id)
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def site_row(app, site) -> Site:
    with session_scope(app.extensions["commentgate"].sessions) as session:
        row = session.get_one(Site, site.site.id)
        session.expunge(row)
        return row


def start(stack: Stack, **settings: str) -> None:
    """The stack's settings for this test, then its worker (both lanes)."""
    stack.env.update({f"COMMENTGATE_{name.upper()}": value for name, value in settings.items()})
    stack.start_worker()


# --- an outage, then the endpoint is back --------------------------------------------------------


# One outage kind per back end: each kind on both would double the slowest tests of the suite.
@pytest.mark.parametrize(
    ("stack", "outage"),
    [("embedded", "answers-503"), ("postgres-redis", "stopped")],
    indirect=["stack"],
)
def test_an_endpoint_down_for_a_while_gets_every_event_and_none_fails(
    stack: Stack, app, client, make_site, start_receiver: Callable[..., Receiver], outage: str
) -> None:
    """Comments keep arriving through a (compressed) ten-minute outage, answered 503 or with
    the receiver stopped and started again on its port: every event arrives once the endpoint
    is back, none is marked failed, and the site's health reads as recovered."""
    start(stack, webhook_retry_schedule=COMPRESSED, webhook_disable_after="864s")
    port = free_port()
    site = make_site(f"http://127.0.0.1:{port}/hook")
    if outage == "answers-503":
        receiver = start_receiver("--fail-for", str(OUTAGE), port=port)
    else:
        receiver = start_receiver(port=port)
        before = post(client, site, "before")
        wait_for(lambda: before in comment_ids(receiver), timeout=15)
        receiver.stop()
    went_down = time.monotonic()
    during = []
    while time.monotonic() - went_down < OUTAGE - 1:
        during.append(post(client, site, f"during-{len(during)}"))
        time.sleep(0.4)
    if outage == "stopped":
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - went_down)))
        receiver = start_receiver(port=port)
    after = [post(client, site, f"after-{i}") for i in range(3)]

    expected = set(during + after)
    wait_for(lambda: expected <= set(comment_ids(receiver)), timeout=60, interval=0.3)
    rows = wait_for(
        lambda: (
            [r for r in deliveries(app, site) if r.status == "delivered"]
            if all(r.status == "delivered" for r in deliveries(app, site))
            else None
        ),
        timeout=15,
    )
    assert not [r for r in rows if r.status == "failed"]
    retried = [r for r in rows if r.comment_id in during and r.attempts > 1]
    assert retried, "events sent during the outage were retried"
    health = site_row(app, site)
    assert health.webhook_failures == 0 and health.webhook_failing_since is None
    assert health.webhook_last_success_at is not None and health.webhook_disabled_at is None

    shown = cli(stack, "webhooks", "show", retried[0].event_id)
    log = shown["attempt_log"]
    assert len(log) == retried[0].attempts and log[-1]["status_code"] == 200
    assert all(a["error"] for a in log[:-1]) and log[-1]["error"] is None
    assert shown["status"] == "delivered" and shown["next_attempt"] == "none: delivered"
    text = cli(stack, "webhooks", "show", retried[0].id, as_json=False)
    assert "Attempts:" in text and ("HTTP 503" in text or "Connection" in text)


# --- 410 Gone, the disabled signal, enabling and replaying ---------------------------------------


def scrape(client) -> dict[tuple[str, str], float]:
    text = client.get("/metrics").get_data(as_text=True)
    return {
        (sample.name, sample.labels.get("site", "")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.parametrize("stack", ["postgres-redis"], indirect=True)
def test_gone_disables_at_once_and_another_site_is_unaffected(
    stack: Stack, app, client, make_site, start_receiver: Callable[..., Receiver]
) -> None:
    """410 Gone disables the site at its first answer: its events are kept, not attempted,
    while another site's are delivered promptly. The CLI and /metrics show it; enabling sends
    the kept events, and replay --since sends the range again."""
    start(stack, webhook_retry_schedule=COMPRESSED)
    gone = start_receiver("--status", "410")
    healthy = start_receiver()
    site, other = make_site(gone.url), make_site(healthy.url)
    since = datetime.now(UTC).isoformat()
    first = post(client, site, "gone-0")
    wait_for(lambda: site_row(app, site).webhook_disabled_at is not None, timeout=15)
    assert "410" in site_row(app, site).webhook_disabled_reason

    kept, latencies = [first], []
    for i in range(5):
        kept.append(post(client, site, f"gone-{i + 1}"))
        sent = time.monotonic()
        comment_id = post(client, other, f"ok-{i}")
        wait_for(lambda c=comment_id: c in comment_ids(healthy), timeout=10, interval=0.02)
        latencies.append(time.monotonic() - sent)
    assert max(latencies) < 3.0, latencies

    rows = wait_for(lambda: (rows := deliveries(app, site)) and len(rows) == 6 and rows, timeout=10)
    time.sleep(1.0)  # time enough for any attempt that should not happen
    assert len(gone.requests()) == 1, "a disabled site's events are not attempted"
    rows = deliveries(app, site)
    assert {r.status for r in rows} == {"pending"} and {r.next_attempt_at for r in rows} == {None}
    assert sorted(r.attempts for r in rows) == [0, 0, 0, 0, 0, 1]

    shown = cli(stack, "sites", "show", site.site.name)
    assert shown["webhook"]["status"] == "disabled"
    assert "410" in shown["webhook"]["disabled_reason"]
    assert shown["deliveries"] == {"waiting": 0, "kept": 6, "failed": 0}
    listed = cli(stack, "sites", "list", as_json=False)
    assert re.search(rf"{site.site.name}\s+disabled\s", listed)
    assert re.search(rf"{other.site.name}\s+ok\s", listed)
    text = cli(stack, "sites", "show", site.site.name, as_json=False)
    assert "DISABLED since" in text and "enable-webhook" in text
    event = cli(stack, "webhooks", "show", rows[0].id)
    assert event["next_attempt"].startswith("kept while the site's webhook is disabled")

    metrics = scrape(client)
    assert metrics[("commentgate_webhook_disabled", site.site.name)] == 1
    assert metrics[("commentgate_webhook_disabled", other.site.name)] == 0
    assert metrics[("commentgate_webhook_consecutive_failures", site.site.name)] == 1

    # The platform's endpoint is back on the same address: enabling sends what was kept.
    gone.stop()
    back = start_receiver(port=gone.port)
    enabled = cli(stack, "sites", "enable-webhook", site.site.name)
    assert enabled["was_disabled"] and enabled["resent"] == 6
    wait_for(lambda: set(comment_ids(back)) >= set(kept), timeout=20)
    assert cli(stack, "sites", "show", site.site.name)["webhook"]["status"] == "ok"

    replayed = cli(stack, "webhooks", "replay", "--since", since, "--site", site.site.name)
    assert replayed["replayed"] == 6 and replayed["queued"] == 6
    wait_for(lambda: len(comment_ids(back)) == 12, timeout=20)
    event_ids = [r["headers"]["webhook-id"] for r in back.delivered()]
    assert sorted(set(event_ids)) == sorted({r.event_id for r in rows})
    assert len(comment_ids(healthy)) == 5, "the other site's events are not replayed"


# --- failing for long ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_failing_for_long_disables_keeps_the_events_and_a_new_url_resumes(
    stack: Stack, app, client, make_site, start_receiver: Callable[..., Receiver]
) -> None:
    """An endpoint failing for COMMENTGATE_WEBHOOK_DISABLE_AFTER is disabled before any event
    runs out of attempts: its events are kept, none fails; a new URL enables it again."""
    start(stack, webhook_retry_schedule=",".join(["0.3s"] * 30), webhook_disable_after="2s")
    site = make_site(f"http://127.0.0.1:{free_port()}/hook")  # nothing listens there
    ids = [post(client, site, f"long-{i}") for i in range(3)]
    wait_for(lambda: site_row(app, site).webhook_disabled_at is not None, timeout=20)
    assert "in a row since" in site_row(app, site).webhook_disabled_reason
    ids.append(post(client, site, "long-3"))

    def all_kept() -> list[WebhookDelivery] | None:
        rows = deliveries(app, site)
        return rows if len(rows) == 4 and all(r.next_attempt_at is None for r in rows) else None

    rows = wait_for(all_kept, timeout=15)
    assert {r.status for r in rows} == {"pending"}, "kept, not failed"
    attempted = attempt_count(app, rows)
    time.sleep(1.0)
    assert attempt_count(app, rows) == attempted >= 2, "no attempt while disabled"

    receiver = start_receiver()
    changed = cli(stack, "sites", "set-webhook-url", site.site.name, receiver.url)
    assert changed["was_disabled"] and changed["resent"] == 4
    wait_for(lambda: set(comment_ids(receiver)) >= set(ids), timeout=20)
    assert site_row(app, site).webhook_disabled_at is None


def attempt_count(app, rows: list[WebhookDelivery]) -> int:
    with session_scope(app.extensions["commentgate"].sessions) as session:
        attempts = session.scalars(
            select(WebhookAttempt.id).where(WebhookAttempt.delivery_id.in_([r.id for r in rows]))
        )
        return len(attempts.all())


# --- a dead endpoint's retries and another site --------------------------------------------------


@pytest.mark.parametrize("stack", ["postgres-redis"], indirect=True)  # the shape that scales
def test_a_hanging_endpoints_retries_do_not_delay_another_sites_webhooks(
    stack: Stack, app, client, make_site, start_receiver: Callable[..., Receiver]
) -> None:
    """One site's endpoint accepts and never answers: its retries hold every thread of the
    retry lane, each for the whole timeout (4 s). Another site's webhooks still arrive within
    a few seconds of the POST: first attempts have a lane of their own."""
    start(
        stack,
        webhook_timeout="4",
        webhook_retry_concurrency="3",
        webhook_retry_schedule=",".join(["0.5s"] * 20),
    )
    hanging = start_receiver("--delay", "120")
    healthy = start_receiver()
    dead, other = make_site(hanging.url), make_site(healthy.url)
    for i in range(12):
        post(client, dead, f"dead-{i}")

    def in_retry() -> bool:  # every first attempt has failed; retries hold the retry lane
        rows = deliveries(app, dead)
        return len(rows) == 12 and attempt_count(app, rows) >= 12

    wait_for(in_retry, timeout=60, interval=0.5)
    latencies = []
    for i in range(8):
        sent = time.monotonic()
        comment_id = post(client, other, f"other-{i}")
        wait_for(lambda c=comment_id: c in comment_ids(healthy), timeout=20, interval=0.02)
        latencies.append(time.monotonic() - sent)
        time.sleep(0.25)
    assert max(latencies) < 4.0, latencies
    assert all(r.status == "pending" for r in deliveries(app, dead))


# --- the moderator page --------------------------------------------------------------------------


def test_admins_see_a_banner_while_the_site_webhooks_are_disabled(app, client, make_site) -> None:
    from service import endpoint_health
    from service.models import utcnow

    site = make_site()
    admin = moderator_token(app, site, "admin", "admin@example.org")
    plain = moderator_token(app, site, email="mod@example.org")

    def page(token: str) -> str:
        with client.session_transaction() as session:
            session.clear()
            session["csrf"] = "form-token"
        signed_in = client.post(
            "/moderate/sign-in", data={"token": token, "csrf_token": "form-token"}
        )
        assert signed_in.status_code == 303
        return client.get("/moderate").get_data(as_text=True)

    assert 'id="webhook-disabled"' not in page(admin)
    with session_scope(sessions_of(app)) as session:
        endpoint_health.disable(session, site.site.id, utcnow(), "the endpoint answered 410 Gone")
    shown = page(admin)
    assert 'id="webhook-disabled"' in shown and "410 Gone" in shown
    assert f"commentgate sites enable-webhook {site.site.name}" in shown
    assert 'id="webhook-disabled"' not in page(plain)
